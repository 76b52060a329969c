package dev.mobilegan.sample

import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.log10

/** One compared output: PSNR in [0, 1] pixel space against the artifact's `selftest_min_psnr_db`. */
data class SelfTestCase(val label: String, val psnrDb: Double, val thresholdDb: Double) {
    val pass: Boolean
        get() = psnrDb >= thresholdDb
}

data class SelfTestReport(val cases: List<SelfTestCase>) {
    val pass: Boolean
        get() = cases.isNotEmpty() && cases.all { it.pass }

    fun describe(): String = buildString {
        append(if (pass) "SELF-TEST PASS" else "SELF-TEST FAIL")
        for (case in cases) {
            append("\n  ${case.label}: ${"%.1f".format(case.psnrDb)} dB (>= ${case.thresholdDb}) ")
            append(if (case.pass) "pass" else "FAIL")
        }
    }
}

/**
 * Runs the exporter's self-test vectors (model.json "selftest") through every ExecuTorch program,
 * and the test cases bundled in any .bpte, each against its artifact's `selftest_min_psnr_db`.
 */
class SelfTest(private val modelDir: File, private val card: ModelCard) {

    fun run(openModel: (Artifact) -> StyleEngine): SelfTestReport {
        val spec = card.selftest ?: error("model.json has no selftest section: re-export the model")
        val cases = mutableListOf<SelfTestCase>()
        for (artifact in card.runnableArtifacts) {
            val threshold = artifact.selfTestMinPsnrDb
            openModel(artifact).use { model ->
                spec.inputs.zip(spec.expected).forEachIndexed { i, (inputFile, expectedFile) ->
                    val input = readFloats(File(modelDir, inputFile), spec)
                    val expected = readFloats(File(modelDir, expectedFile), spec)
                    val feed = remap(input, spec.rangeLo, spec.rangeHi, artifact.input.rangeLo, artifact.input.rangeHi)
                    val output = model.runValues(feed)
                    val value = psnr(
                        toUnit(output, artifact.output.rangeLo, artifact.output.rangeHi),
                        toUnit(expected, spec.rangeLo, spec.rangeHi),
                    )
                    cases += SelfTestCase("${artifact.file} #$i", value, threshold)
                }
            }
        }
        cases += bundledCases(openModel)
        return SelfTestReport(cases)
    }

    /**
     * Every .bpte in the model folder: extract its program, run its bundled cases against the
     * threshold of the fp32 program (the exporter bundles only fp32 programs).
     */
    private fun bundledCases(openModel: (Artifact) -> StyleEngine): List<SelfTestCase> {
        val reference = card.executorchArtifacts.firstOrNull { it.precision == "fp32" } ?: return emptyList()
        val threshold = reference.selfTestMinPsnrDb
        val bundles = modelDir.listFiles { f -> f.extension == "bpte" }.orEmpty().sortedBy { it.name }
        val cases = mutableListOf<SelfTestCase>()
        for (bundleFile in bundles) {
            val bundle = BundledProgram.parse(bundleFile.readBytes())
            val programFile = File(modelDir, "${bundleFile.nameWithoutExtension}.from-bpte.pte")
            programFile.writeBytes(bundle.program)
            val artifact = reference.copy(file = programFile.name)
            try {
                openModel(artifact).use { model ->
                    bundle.testCases("forward").forEachIndexed { i, case ->
                        val output = model.runValues(case.inputs.single().data)
                        val expected = case.expectedOutputs.first().data
                        val lo = reference.output.rangeLo
                        val hi = reference.output.rangeHi
                        val value = psnr(toUnit(output, lo, hi), toUnit(expected, lo, hi))
                        cases += SelfTestCase("${bundleFile.name} #$i", value, threshold)
                    }
                }
            } finally {
                programFile.delete()
            }
        }
        return cases
    }

    private fun readFloats(file: File, spec: SelfTestSpec): FloatArray {
        val count = spec.shape.fold(1L) { acc, v -> acc * v }.toInt()
        val bytes = file.readBytes()
        require(bytes.size == 4 * count) { "${file.name}: ${bytes.size} bytes, expected ${4 * count}" }
        val values = FloatArray(count)
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values)
        return values
    }

    companion object {
        fun toUnit(values: FloatArray, lo: Float, hi: Float): FloatArray =
            FloatArray(values.size) { ((values[it] - lo) / (hi - lo)).coerceIn(0f, 1f) }

        fun remap(values: FloatArray, fromLo: Float, fromHi: Float, toLo: Float, toHi: Float): FloatArray =
            FloatArray(values.size) { toLo + (values[it] - fromLo) / (fromHi - fromLo) * (toHi - toLo) }

        /** 10 * log10(1 / MSE) on [0, 1] values (docs/model-json.md). */
        fun psnr(a: FloatArray, b: FloatArray): Double {
            require(a.size == b.size) { "output has ${a.size} values, expected ${b.size}" }
            var sum = 0.0
            for (i in a.indices) {
                val d = (a[i] - b[i]).toDouble()
                sum += d * d
            }
            val mse = sum / a.size
            return if (mse == 0.0) Double.POSITIVE_INFINITY else 10.0 * log10(1.0 / mse)
        }
    }
}
