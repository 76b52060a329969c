package dev.mobilegan.sample

import android.graphics.Bitmap
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.File
import java.nio.FloatBuffer

/**
 * One ExecuTorch program (XNNPACK delegate, built into executorch-android) and its reused input
 * tensor. Not thread-safe: the activity calls it from its single inference thread only.
 * Create with [open], which checks the artifact before loading and frees a half-loaded module.
 */
class StyleModel private constructor(private val module: Module, override val artifact: Artifact) : StyleEngine {
    private val inputBuffer: FloatBuffer = Tensor.allocateFloatBuffer(artifact.input.numel)
    private val inputTensor: Tensor = Tensor.fromBlob(inputBuffer, artifact.input.shape)
    private val inputValue: EValue = EValue.from(inputTensor)
    override val pixels = PixelConverter(artifact.input, artifact.output)
    override val runtimeLabel: String = "ExecuTorch XNNPACK"
    override val benchRuntime: String = BenchResult.RUNTIME

    /** Runs on whatever is in the input buffer; returns the output and the time in ms. */
    override fun run(): Pair<FloatArray, Double> {
        val start = System.nanoTime()
        val outputs = module.forward(inputValue)
        check(outputs.isNotEmpty()) { "${artifact.file}: forward returned nothing (module closed?)" }
        val data = outputs[0].toTensor().dataAsFloatArray
        return data to (System.nanoTime() - start) / 1e6
    }

    /** Stylizes [source] (any size, rotated by [rotationDegrees]); returns output bitmap and ms. */
    override fun stylize(source: Bitmap, rotationDegrees: Int): Pair<Bitmap, Double> {
        pixels.loadBitmap(source, rotationDegrees, inputBuffer)
        val (data, ms) = run()
        return pixels.toBitmap(data) to ms
    }

    /** Runs on raw input values (self-test vectors) in the model's input range. */
    override fun runValues(values: FloatArray): FloatArray {
        require(values.size == artifact.input.numel) {
            "input has ${values.size} values, the model takes ${artifact.input.numel}"
        }
        inputBuffer.position(0)
        inputBuffer.put(values)
        inputBuffer.position(0)
        return run().first
    }

    override fun close() {
        module.destroy()
    }

    companion object {
        private const val METHOD = "forward"
        private const val ERROR_OK = 0

        /** Validates [artifact] first (nothing is loaded for one the app cannot feed), then loads. */
        fun open(programFile: File, artifact: Artifact): StyleModel {
            artifact.checkRunnable()
            val module = Module.load(programFile.absolutePath, Module.LOAD_MODE_MMAP)
            try {
                val status = module.loadMethod(METHOD)
                check(status == ERROR_OK) {
                    "${programFile.name}: loading method $METHOD failed (ExecuTorch error 0x${status.toString(16)})"
                }
                return StyleModel(module, artifact)
            } catch (e: Exception) {
                module.destroy()
                throw e
            }
        }
    }
}
