package dev.mobilegan.sample

import android.os.Build
import org.json.JSONArray
import org.json.JSONObject
import java.io.File
import java.time.Instant

/** Result of N timed runs after warm-up, in the `mobilegan bench` row schema (mobilegan.bench/1). */
data class BenchResult(
    val model: String,
    val precision: String,
    val size: List<Int>,
    val timesMs: List<Double>,
    val warmup: Int,
    val runtime: String = RUNTIME,
) {
    val medianMs: Double = quantile(timesMs, 0.5)
    val p10Ms: Double = quantile(timesMs, 0.1)
    val p90Ms: Double = quantile(timesMs, 0.9)
    private val runtimeVersion: String = if (runtime.startsWith("litert")) LITERT_VERSION else EXECUTORCH_VERSION

    fun summary(): String =
        "$model $precision: median ${"%.2f".format(medianMs)} ms, p10 ${"%.2f".format(p10Ms)} ms, " +
            "p90 ${"%.2f".format(p90Ms)} ms over ${timesMs.size} runs"

    fun toJson(): JSONObject = JSONObject()
        .put("schema", SCHEMA)
        .put("created", Instant.now().toString())
        .put("app", JSONObject().put("name", "mobilegan-android").put("runtime_version", runtimeVersion))
        .put(
            "machine",
            JSONObject()
                .put("device", "${Build.MANUFACTURER} ${Build.MODEL}")
                .put("os", "Android ${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})")
                .put("soc", if (Build.VERSION.SDK_INT >= 31) Build.SOC_MODEL else Build.HARDWARE)
                .put("abi", Build.SUPPORTED_ABIS.firstOrNull() ?: "unknown"),
        )
        .put("rows", JSONArray().put(row()))

    private fun row(): JSONObject = JSONObject()
        .put("model", model)
        .put("runtime", runtime)
        .put("precision", precision)
        .put("threads", 0)
        .put("size", if (size.size == 2 && size[0] != size[1]) JSONArray(size) else size[0])
        .put("median_ms", round3(medianMs))
        .put("p10_ms", round3(p10Ms))
        .put("p90_ms", round3(p90Ms))
        .put("runs", timesMs.size)
        .put("warmup", warmup)
        .put("source", "device")

    /** Writes [text] to `<base>/bench/bench-<model>-<precision>-<ms>.json`, renamed into place. */
    fun save(text: String, base: File): File {
        val dir = File(base, "bench").apply { mkdirs() }
        val file = File(dir, "bench-$model-$precision-${System.currentTimeMillis()}.json")
        val partial = File(dir, ".${file.name}.tmp")
        partial.writeText(text)
        check(partial.renameTo(file)) { "could not write ${file.path}" }
        return file
    }

    private fun round3(value: Double): Double = Math.round(value * 1000.0) / 1000.0

    companion object {
        const val SCHEMA = "mobilegan.bench/1"
        const val RUNTIME = "executorch-xnnpack"
        const val EXECUTORCH_VERSION = "1.5.1"
        const val LITERT_VERSION = "2.3.0" // com.google.ai.edge.litert:litert in libs.versions.toml

        /** Times [runs] calls of [step] after [warmup] untimed ones; [step] returns its own ms. */
        fun measure(
            model: String,
            precision: String,
            size: List<Int>,
            runs: Int,
            warmup: Int,
            runtime: String = RUNTIME,
            step: () -> Double,
        ): BenchResult {
            require(runs > 0 && warmup >= 0) { "runs must be > 0 and warm-up >= 0" }
            repeat(warmup) { step() }
            val times = List(runs) { step() }
            return BenchResult(model, precision, size, times, warmup, runtime)
        }
    }
}
