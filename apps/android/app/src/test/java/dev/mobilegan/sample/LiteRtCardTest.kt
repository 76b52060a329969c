package dev.mobilegan.sample

import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Test

/** LiteRT entries of model.json (NHWC, int8 I/O with a scale) and the layout reordering. */
class LiteRtCardTest {
    private val fixture: String =
        requireNotNull(javaClass.classLoader?.getResource("model-card.json")) { "model-card.json fixture missing" }
            .readText()

    private fun io(dtype: String, quantized: Boolean): JSONObject {
        val spec = JSONObject()
            .put("name", "args_0")
            .put("shape", JSONArray(listOf(1, 8, 8, 3)))
            .put("layout", "NHWC")
            .put("dtype", dtype)
            .put("range", JSONArray(listOf(0, 1)))
        if (quantized) {
            spec.put("quantization", JSONObject().put("scale", 1.0 / 255).put("zero_point", -128))
        }
        return spec
    }

    private fun withLiteRt(): String {
        val root = JSONObject(fixture)
        val artifacts = root.getJSONArray("artifacts")
        for ((precision, dtype) in listOf("fp32" to "float32", "int8" to "int8")) {
            artifacts.put(
                JSONObject()
                    .put("target", "litert")
                    .put("file", "m_$precision.tflite")
                    .put("precision", precision)
                    .put("input", io(dtype, precision == "int8"))
                    .put("output", io(dtype, precision == "int8"))
                    .put("selftest_min_psnr_db", if (precision == "fp32") 60.0 else 30.0),
            )
        }
        return root.toString()
    }

    @Test
    fun listsLiteRtFilesAfterExecuTorchPrograms() {
        val card = ModelCard.parse(withLiteRt())
        assertEquals(listOf("m_fp32.pte", "m_int8.pte", "m_fp32.tflite", "m_int8.tflite"), card.runnableArtifacts.map { it.file })
        val int8 = card.litertArtifacts[1]
        assertEquals(8, int8.input.height)
        assertEquals(3, int8.input.channels)
        assertEquals(-128, int8.input.zeroPoint)
        assertEquals(1f / 255, int8.input.scale, 1e-9f)
        card.litertArtifacts.forEach { it.checkRunnable() }
    }

    @Test
    fun executorchProgramsMustStayNchw() {
        val card = ModelCard.parse(withLiteRt())
        val nhwcProgram = card.executorchArtifacts[0].copy(input = card.litertArtifacts[0].input)
        assertThrows(IllegalArgumentException::class.java) { nhwcProgram.checkRunnable() }
    }

    @Test
    fun layoutReorderingRoundTrips() {
        val nchw = FloatArray(3 * 2 * 2) { it.toFloat() } // R 0..3, G 4..7, B 8..11
        val nhwc = ImageLayout.nchwToNhwc(nchw, 2, 2)
        assertArrayEquals(floatArrayOf(0f, 4f, 8f, 1f, 5f, 9f, 2f, 6f, 10f, 3f, 7f, 11f), nhwc, 0f)
        assertArrayEquals(nchw, ImageLayout.nhwcToNchw(nhwc, 2, 2), 0f)
    }
}
