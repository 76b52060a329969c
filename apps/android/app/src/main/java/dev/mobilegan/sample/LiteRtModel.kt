package dev.mobilegan.sample

import android.graphics.Bitmap
import android.util.Log
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import java.io.File
import java.nio.FloatBuffer

/**
 * One LiteRT `.tflite` through the `CompiledModel` API: on the GPU accelerator where the phone has
 * one and the model compiles for it, else on the CPU (XNNPACK). Input and output are NHWC, float32
 * or int8 with the scale and zero point model.json gives (value = (q - zeroPoint) * scale).
 * Buffers are allocated once. Create with [open], which checks the artifact before loading.
 */
class LiteRtModel private constructor(
    private val compiled: CompiledModel,
    private val environment: Environment,
    override val artifact: Artifact,
    private val accelerator: Accelerator,
) : StyleEngine {
    private val inputBuffers: List<TensorBuffer> = compiled.createInputBuffers()
    private val outputBuffers: List<TensorBuffer> = compiled.createOutputBuffers()
    private val inputValues: FloatBuffer = FloatBuffer.allocate(artifact.input.numel)
    private val inputBytes = ByteArray(if (artifact.input.dtype == "int8") artifact.input.numel else 0)
    override val pixels = PixelConverter(artifact.input, artifact.output)
    override val runtimeLabel: String = "LiteRT ${if (accelerator == Accelerator.GPU) "GPU" else "CPU (XNNPACK)"}"
    override val benchRuntime: String = if (accelerator == Accelerator.GPU) "litert-gpu" else "litert-xnnpack"

    override fun run(): Pair<FloatArray, Double> {
        val start = System.nanoTime()
        writeInput()
        compiled.run(inputBuffers, outputBuffers)
        val data = readOutput()
        return data to (System.nanoTime() - start) / 1e6
    }

    override fun stylize(source: Bitmap, rotationDegrees: Int): Pair<Bitmap, Double> {
        pixels.loadBitmap(source, rotationDegrees, inputValues)
        val (data, ms) = run()
        return pixels.toBitmap(data) to ms
    }

    override fun runValues(values: FloatArray): FloatArray {
        require(values.size == artifact.input.numel) {
            "input has ${values.size} values, the model takes ${artifact.input.numel}"
        }
        val input = artifact.input
        val laidOut = if (input.channelsLast) ImageLayout.nchwToNhwc(values, input.height, input.width) else values
        inputValues.position(0)
        inputValues.put(laidOut)
        inputValues.position(0)
        val output = run().first
        val out = artifact.output
        return if (out.channelsLast) ImageLayout.nhwcToNchw(output, out.height, out.width) else output
    }

    private fun writeInput() {
        val values = inputValues.array()
        val spec = artifact.input
        if (spec.dtype == "int8") {
            for (i in values.indices) {
                val q = Math.round(values[i] / spec.scale) + spec.zeroPoint
                inputBytes[i] = q.coerceIn(-128, 127).toByte()
            }
            inputBuffers[0].writeInt8(inputBytes)
        } else {
            inputBuffers[0].writeFloat(values)
        }
    }

    private fun readOutput(): FloatArray {
        val spec = artifact.output
        if (spec.dtype != "int8") {
            return outputBuffers[0].readFloat()
        }
        val bytes = outputBuffers[0].readInt8()
        return FloatArray(bytes.size) { (bytes[it] - spec.zeroPoint) * spec.scale }
    }

    override fun close() {
        inputBuffers.forEach { it.close() }
        outputBuffers.forEach { it.close() }
        compiled.close()
        environment.close()
    }

    companion object {
        private const val TAG = "MobileganLiteRT"

        /** Validates [artifact] first, then compiles for the GPU if there is one, else the CPU. */
        fun open(file: File, artifact: Artifact): LiteRtModel {
            artifact.checkRunnable()
            val environment = Environment.create()
            try {
                val gpu = Accelerator.GPU in environment.getAvailableAccelerators()
                if (gpu) {
                    try {
                        val compiled = CompiledModel.create(
                            file.absolutePath, CompiledModel.Options(Accelerator.GPU), environment,
                        )
                        return LiteRtModel(compiled, environment, artifact, Accelerator.GPU)
                    } catch (e: Exception) {
                        Log.w(TAG, "${file.name}: GPU compilation failed, using the CPU: ${e.message}")
                    }
                }
                val compiled = CompiledModel.create(file.absolutePath, CompiledModel.Options(Accelerator.CPU), environment)
                return LiteRtModel(compiled, environment, artifact, Accelerator.CPU)
            } catch (e: Exception) {
                environment.close()
                throw e
            }
        }
    }
}
