package dev.mobilegan.sample

import android.graphics.Bitmap
import java.io.Closeable
import java.io.File

/**
 * One loaded model file, whatever runs it: ExecuTorch ([StyleModel], `.pte`) or LiteRT
 * ([LiteRtModel], `.tflite`). Which one is chosen from the artifact's `target` in model.json.
 * Not thread-safe: the activity calls it from its single inference thread only.
 */
interface StyleEngine : Closeable {
    val artifact: Artifact

    /** For the screen, e.g. "ExecuTorch XNNPACK" or "LiteRT GPU". */
    val runtimeLabel: String

    /** The `runtime` of benchmark rows (mobilegan.bench/1), e.g. "executorch-xnnpack", "litert-gpu". */
    val benchRuntime: String

    val pixels: PixelConverter

    /** Runs on whatever is in the input buffer; returns the output (model layout) and the time in ms. */
    fun run(): Pair<FloatArray, Double>

    /** Stylizes [source] (any size, rotated by [rotationDegrees]); returns output bitmap and ms. */
    fun stylize(source: Bitmap, rotationDegrees: Int): Pair<Bitmap, Double>

    /** Runs on raw NCHW input values (self-test vectors) in the model's input range; NCHW output. */
    fun runValues(values: FloatArray): FloatArray

    companion object {
        /** Opens [file] with the runtime its model.json entry names. */
        fun open(file: File, artifact: Artifact): StyleEngine = when (artifact.target) {
            ModelCard.TARGET -> StyleModel.open(file, artifact)
            ModelCard.LITERT_TARGET -> LiteRtModel.open(file, artifact)
            else -> error("${artifact.file}: this app cannot run ${artifact.target} artifacts")
        }
    }
}
