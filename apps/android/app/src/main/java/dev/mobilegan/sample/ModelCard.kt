package dev.mobilegan.sample

import org.json.JSONArray
import org.json.JSONObject

/**
 * The parts of model.json (docs/model-json.md, schema_version 2) the app uses. Everything
 * about the model comes from here: nothing about sizes, ranges or files is hard-coded.
 */
data class TensorSpec(
    val name: String,
    val shape: LongArray,
    val layout: String,
    val dtype: String,
    val rangeLo: Float,
    val rangeHi: Float,
    /** int8 I/O (LiteRT int8 files): value = (q - zeroPoint) * scale; 1 and 0 for float tensors. */
    val scale: Float = 1f,
    val zeroPoint: Int = 0,
) {
    val channelsLast: Boolean
        get() = layout == "NHWC"

    val height: Int
        get() = shape[if (channelsLast) 1 else 2].toInt()

    val width: Int
        get() = shape[if (channelsLast) 2 else 3].toInt()

    val channels: Int
        get() = shape[if (channelsLast) 3 else 1].toInt()

    val numel: Int
        get() = shape.fold(1L) { acc, v -> acc * v }.toInt()
}

/** One `artifacts[]` entry; [selfTestMinPsnrDb] is the PSNR its self-test must reach. */
data class Artifact(
    val target: String,
    val file: String,
    val precision: String,
    val input: TensorSpec,
    val output: TensorSpec,
    val selfTestMinPsnrDb: Double,
)

data class SelfTestSpec(
    val shape: LongArray,
    val rangeLo: Float,
    val rangeHi: Float,
    val inputs: List<String>,
    val expected: List<String>,
)

data class ModelCard(
    val name: String,
    val size: List<Int>,
    val artifacts: List<Artifact>,
    val selftest: SelfTestSpec?,
) {
    /** ExecuTorch programs the app can run, fp32 first. */
    val executorchArtifacts: List<Artifact>
        get() = artifacts
            .filter { it.target == TARGET && it.file.endsWith(".pte") }
            .sortedBy { PRECISION_ORDER.indexOf(it.precision).let { i -> if (i < 0) PRECISION_ORDER.size else i } }

    /** LiteRT files the app can run, fp32 first. */
    val litertArtifacts: List<Artifact>
        get() = artifacts
            .filter { it.target == LITERT_TARGET && it.file.endsWith(".tflite") }
            .sortedBy { PRECISION_ORDER.indexOf(it.precision).let { i -> if (i < 0) PRECISION_ORDER.size else i } }

    /** Everything the app can run: ExecuTorch first (the default backend), then LiteRT. */
    val runnableArtifacts: List<Artifact>
        get() = executorchArtifacts + litertArtifacts

    companion object {
        const val SCHEMA_VERSION = 2
        const val TARGET = "executorch"
        const val LITERT_TARGET = "litert"
        private val PRECISION_ORDER = listOf("fp32", "int8", "fp16")

        fun parse(text: String): ModelCard {
            val root = JSONObject(text)
            val version = root.optInt("schema_version", -1)
            require(version == SCHEMA_VERSION) {
                "model.json schema_version $version is not $SCHEMA_VERSION: update the app or re-export"
            }
            val artifacts = root.getJSONArray("artifacts").objects().map(::parseArtifact)
            val card = ModelCard(
                name = root.getString("name"),
                size = root.getJSONArray("size").ints(),
                artifacts = artifacts,
                selftest = root.optJSONObject("selftest")?.let(::parseSelfTest),
            )
            require(card.runnableArtifacts.isNotEmpty()) {
                "model.json lists no ExecuTorch .pte or LiteRT .tflite: " +
                    "export with --target executorch (or --target litert) --app android"
            }
            return card
        }

        private fun parseArtifact(json: JSONObject): Artifact = Artifact(
            target = json.getString("target"),
            file = json.getString("file"),
            precision = json.optString("precision", "fp32"),
            input = parseTensor(json.optJSONObject("input")),
            output = parseTensor(json.optJSONObject("output")),
            // getDouble throws for a missing key: a card without per-artifact thresholds is refused
            selfTestMinPsnrDb = json.getDouble("selftest_min_psnr_db"),
        )

        private fun parseTensor(json: JSONObject?): TensorSpec {
            if (json == null) {
                return TensorSpec("", longArrayOf(), "", "", 0f, 1f)
            }
            val range = json.getJSONArray("range")
            val quantization = json.optJSONObject("quantization")
            return TensorSpec(
                name = json.getString("name"),
                shape = json.getJSONArray("shape").longs(),
                layout = json.getString("layout"),
                dtype = json.getString("dtype"),
                rangeLo = range.getDouble(0).toFloat(),
                rangeHi = range.getDouble(1).toFloat(),
                scale = quantization?.getDouble("scale")?.toFloat() ?: 1f,
                zeroPoint = quantization?.getInt("zero_point") ?: 0,
            )
        }

        private fun parseSelfTest(json: JSONObject): SelfTestSpec {
            val range = json.getJSONArray("range")
            return SelfTestSpec(
                shape = json.getJSONArray("shape").longs(),
                rangeLo = range.getDouble(0).toFloat(),
                rangeHi = range.getDouble(1).toFloat(),
                inputs = json.getJSONArray("inputs").strings(),
                expected = json.getJSONArray("expected").strings(),
            )
        }

        private fun JSONArray.objects(): List<JSONObject> = (0 until length()).map { getJSONObject(it) }

        private fun JSONArray.ints(): List<Int> = (0 until length()).map { getInt(it) }

        private fun JSONArray.longs(): LongArray = LongArray(length()) { getLong(it) }

        private fun JSONArray.strings(): List<String> = (0 until length()).map { getString(it) }
    }
}

/**
 * Validates that an artifact is something this app's pixel path can feed: ExecuTorch programs take
 * float32 NCHW; LiteRT files take NHWC, float32 or int8 with a scale (model.json `quantization`).
 */
fun Artifact.checkRunnable() {
    val litert = target == ModelCard.LITERT_TARGET
    for ((what, spec) in listOf("input" to input, "output" to output)) {
        val layoutOk = if (litert) spec.layout == "NHWC" || spec.layout == "NCHW" else spec.layout == "NCHW"
        val dtypeOk = spec.dtype == "float32" || (litert && spec.dtype == "int8" && spec.scale > 0f)
        require(layoutOk && dtypeOk && spec.shape.size == 4) {
            "$file: $what must be ${if (litert) "float32 or int8 NHWC" else "float32 NCHW"}, " +
                "model.json says ${spec.dtype} ${spec.layout}"
        }
        require(spec.channels == 3) {
            "$file: $what must have 3 channels (RGB)"
        }
    }
}
