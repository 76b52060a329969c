package dev.mobilegan.sample

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class LatencyWindowTest {
    @Test
    fun keepsTheLastValuesAndReportsTheirMedian() {
        val window = LatencyWindow(3)
        for (ms in listOf(100.0, 1.0, 2.0, 3.0)) {
            window.add(ms)
        }
        assertEquals(3, window.count)
        assertEquals(2.0, window.median(), 0.0)
    }

    @Test
    fun quantileInterpolatesBetweenOrderStatistics() {
        assertEquals(2.5, quantile(listOf(4.0, 1.0, 3.0, 2.0), 0.5), 1e-9)
        assertEquals(14.0, quantile(listOf(10.0, 20.0, 30.0, 40.0, 50.0), 0.1), 1e-9)
        assertTrue(quantile(emptyList(), 0.5).isNaN())
    }

    @Test
    fun benchmarkTimesEveryRunAfterWarmUp() {
        var calls = 0
        val result = BenchResult.measure("m", "fp32", listOf(8, 8), runs = 4, warmup = 2) {
            calls += 1
            calls.toDouble()
        }
        assertEquals(6, calls)
        assertEquals(listOf(3.0, 4.0, 5.0, 6.0), result.timesMs)
    }
}
