package dev.mobilegan.sample

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class SelfTestMathTest {
    @Test
    fun psnrFollowsTenLogTenOfOneOverMse() {
        assertEquals(20.0, SelfTest.psnr(floatArrayOf(0f, 0f), floatArrayOf(0.1f, 0.1f)), 1e-4)
        assertEquals(Double.POSITIVE_INFINITY, SelfTest.psnr(floatArrayOf(0.5f), floatArrayOf(0.5f)), 0.0)
    }

    @Test
    fun rangesMapToUnitPixelsAndClip() {
        assertEquals(listOf(0f, 0.5f, 1f, 1f), SelfTest.toUnit(floatArrayOf(0f, 127.5f, 255f, 300f), 0f, 255f).toList())
        assertEquals(listOf(0f, 255f), SelfTest.remap(floatArrayOf(0f, 1f), 0f, 1f, 0f, 255f).toList())
    }

    @Test
    fun reportPassesOnlyWhenEveryCaseReachesItsThreshold() {
        val pass = SelfTestCase("a", 61.0, 60.0)
        val fail = SelfTestCase("b", 44.0, 45.0)
        assertTrue(SelfTestReport(listOf(pass)).pass)
        assertFalse(SelfTestReport(listOf(pass, fail)).pass)
        assertFalse(SelfTestReport(emptyList()).pass)
        assertTrue(SelfTestReport(listOf(pass, fail)).describe().startsWith("SELF-TEST FAIL"))
    }
}
