package dev.mobilegan.sample

import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** model.json parsing against a card the exporter's own code wrote (tests/helpers_apps.py). */
class ModelCardTest {
    private val fixture: String =
        requireNotNull(javaClass.classLoader?.getResource("model-card.json")) { "model-card.json fixture missing" }
            .readText()

    @Test
    fun readsEachProgramsOwnSelfTestThreshold() {
        val card = ModelCard.parse(fixture)
        val programs = card.executorchArtifacts
        assertEquals(listOf("m_fp32.pte", "m_int8.pte"), programs.map { it.file })
        assertEquals(60.0, programs[0].selfTestMinPsnrDb, 0.0)
        assertEquals(30.0, programs[1].selfTestMinPsnrDb, 0.0)
        assertEquals(listOf(1L, 3L, 8L, 8L), programs[0].input.shape.toList())
        assertEquals(192, programs[0].input.numel)
    }

    @Test
    fun refusesOtherSchemaVersions() {
        val old = JSONObject(fixture).put("schema_version", 1).toString()
        val error = assertThrows(IllegalArgumentException::class.java) { ModelCard.parse(old) }
        assertTrue(error.message.orEmpty().contains("schema_version"))
    }

    @Test
    fun refusesAnArtifactWithoutThreshold() {
        val root = JSONObject(fixture)
        root.getJSONArray("artifacts").getJSONObject(0).remove("selftest_min_psnr_db")
        assertThrows(Exception::class.java) { ModelCard.parse(root.toString()) }
    }

    @Test
    fun refusesACardWithoutPrograms() {
        val root = JSONObject(fixture)
        val onlyOnnx = root.getJSONArray("artifacts").let { all ->
            org.json.JSONArray((0 until all.length()).map { all.getJSONObject(it) }.filter { it.getString("target") == "onnx" })
        }
        root.put("artifacts", onlyOnnx)
        assertThrows(IllegalArgumentException::class.java) { ModelCard.parse(root.toString()) }
    }
}
