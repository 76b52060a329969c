package dev.mobilegan.sample

import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Matrix
import android.graphics.Paint
import java.nio.FloatBuffer

/**
 * Bitmap <-> float conversion at the model's size, in the model's layout (NCHW for ExecuTorch,
 * NHWC for LiteRT, from model.json), with every buffer allocated once:
 * the scaled input bitmap, the IntArray of ARGB pixels, and two output bitmaps used in turn
 * (the screen shows one while the next frame is written into the other).
 */
class PixelConverter(private val input: TensorSpec, private val output: TensorSpec) {
    val width: Int = input.width
    val height: Int = input.height
    private val plane = width * height
    private val pixels = IntArray(plane)
    private val scaled: Bitmap = Bitmap.createBitmap(width, height, Bitmap.Config.ARGB_8888)
    private val canvas = Canvas(scaled)
    private val paint = Paint(Paint.FILTER_BITMAP_FLAG)
    private val matrix = Matrix()
    private val outputs = Array(2) { Bitmap.createBitmap(output.width, output.height, Bitmap.Config.ARGB_8888) }
    private var nextOutput = 0

    /** The last image drawn by [loadBitmap], at model size (for display). */
    val modelInput: Bitmap
        get() = scaled

    /**
     * Draws [source] rotated by [rotationDegrees] and centre-cropped to the model's aspect into the
     * reused model-size bitmap, then writes it into [dest] in the model's input range.
     */
    fun loadBitmap(source: Bitmap, rotationDegrees: Int, dest: FloatBuffer) {
        val rotated = rotationDegrees % 180 != 0
        val srcW = if (rotated) source.height else source.width
        val srcH = if (rotated) source.width else source.height
        val scale = maxOf(width.toFloat() / srcW, height.toFloat() / srcH)
        matrix.reset()
        matrix.postTranslate(-source.width / 2f, -source.height / 2f)
        matrix.postRotate(rotationDegrees.toFloat())
        matrix.postScale(scale, scale)
        matrix.postTranslate(width / 2f, height / 2f)
        canvas.drawBitmap(source, matrix, paint)
        scaled.getPixels(pixels, 0, width, 0, 0, width, height)
        writeInput(dest)
    }

    private fun writeInput(dest: FloatBuffer) {
        val lo = input.rangeLo
        val step = (input.rangeHi - input.rangeLo) / 255f
        val (pixelStride, channelStride) = strides(input, plane)
        for (i in 0 until plane) {
            val argb = pixels[i]
            val at = i * pixelStride
            dest.put(at, lo + ((argb shr 16) and 0xFF) * step)
            dest.put(at + channelStride, lo + ((argb shr 8) and 0xFF) * step)
            dest.put(at + 2 * channelStride, lo + (argb and 0xFF) * step)
        }
    }

    /** Floats in the model's output range and layout -> one of the two reused output bitmaps. */
    fun toBitmap(data: FloatArray): Bitmap {
        val outPlane = output.width * output.height
        require(data.size == 3 * outPlane) {
            "model returned ${data.size} values, model.json promises ${3 * outPlane}"
        }
        val lo = output.rangeLo
        val scale = 255f / (output.rangeHi - output.rangeLo)
        val (pixelStride, channelStride) = strides(output, outPlane)
        for (i in 0 until outPlane) {
            val at = i * pixelStride
            val r = toByte((data[at] - lo) * scale)
            val g = toByte((data[at + channelStride] - lo) * scale)
            val b = toByte((data[at + 2 * channelStride] - lo) * scale)
            pixels[i] = (0xFF shl 24) or (r shl 16) or (g shl 8) or b
        }
        val bitmap = outputs[nextOutput]
        nextOutput = 1 - nextOutput
        bitmap.setPixels(pixels, 0, output.width, 0, 0, output.width, output.height)
        return bitmap
    }

    private fun toByte(value: Float): Int = (value + 0.5f).toInt().coerceIn(0, 255)

    companion object {
        /** (step between pixels, step between channels) of a 3-channel image tensor in [spec]'s layout. */
        fun strides(spec: TensorSpec, plane: Int): Pair<Int, Int> = if (spec.channelsLast) 3 to 1 else 1 to plane
    }
}

/** Reordering a 3-channel image of one batch between NCHW (self-test vectors) and NHWC (LiteRT). */
object ImageLayout {
    /** (C, H, W) -> (H, W, C). */
    fun nchwToNhwc(values: FloatArray, height: Int, width: Int): FloatArray {
        val plane = height * width
        require(values.size == 3 * plane) { "expected ${3 * plane} values, got ${values.size}" }
        return FloatArray(values.size) { i -> values[(i % 3) * plane + i / 3] }
    }

    /** (H, W, C) -> (C, H, W). */
    fun nhwcToNchw(values: FloatArray, height: Int, width: Int): FloatArray {
        val plane = height * width
        require(values.size == 3 * plane) { "expected ${3 * plane} values, got ${values.size}" }
        return FloatArray(values.size) { i -> values[(i % plane) * 3 + i / plane] }
    }
}
