package dev.mobilegan.sample

import android.graphics.Bitmap
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.Closeable
import java.io.File
import java.nio.FloatBuffer

/**
 * One ExecuTorch program (XNNPACK delegate, built into executorch-android) and its reused input
 * tensor. Not thread-safe: the activity calls it from a single inference thread only.
 */
class StyleModel(programFile: File, val artifact: Artifact) : Closeable {
    private val module: Module = Module.load(programFile.absolutePath, Module.LOAD_MODE_MMAP)
    private val inputBuffer: FloatBuffer = Tensor.allocateFloatBuffer(artifact.input.numel)
    private val inputTensor: Tensor = Tensor.fromBlob(inputBuffer, artifact.input.shape)
    private val inputValue: EValue = EValue.from(inputTensor)
    val pixels = PixelConverter(artifact.input, artifact.output)

    init {
        artifact.checkRunnable()
        module.loadMethod("forward")
    }

    /** Runs on whatever is in the input buffer; returns the output and the time in ms. */
    fun run(): Pair<FloatArray, Double> {
        val start = System.nanoTime()
        val outputs = module.forward(inputValue)
        val data = outputs[0].toTensor().dataAsFloatArray
        return data to (System.nanoTime() - start) / 1e6
    }

    /** Stylizes [source] (any size, rotated by [rotationDegrees]); returns output bitmap and ms. */
    fun stylize(source: Bitmap, rotationDegrees: Int): Pair<Bitmap, Double> {
        pixels.loadBitmap(source, rotationDegrees, inputBuffer)
        val (data, ms) = run()
        return pixels.toBitmap(data) to ms
    }

    /** Runs on raw input values (self-test vectors) in the model's input range. */
    fun runValues(values: FloatArray): FloatArray {
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
}
