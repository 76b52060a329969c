package dev.mobilegan.sample

import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Matrix
import android.graphics.Paint
import java.nio.FloatBuffer

/**
 * Bitmap <-> NCHW float conversion at the model's size, with every buffer allocated once:
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
        for (i in 0 until plane) {
            val argb = pixels[i]
            dest.put(i, lo + ((argb shr 16) and 0xFF) * step)
            dest.put(plane + i, lo + ((argb shr 8) and 0xFF) * step)
            dest.put(2 * plane + i, lo + (argb and 0xFF) * step)
        }
    }

    /** NCHW floats in the model's output range -> one of the two reused output bitmaps. */
    fun toBitmap(data: FloatArray): Bitmap {
        val outPlane = output.width * output.height
        require(data.size == 3 * outPlane) {
            "model returned ${data.size} values, model.json promises ${3 * outPlane}"
        }
        val lo = output.rangeLo
        val scale = 255f / (output.rangeHi - output.rangeLo)
        for (i in 0 until outPlane) {
            val r = toByte((data[i] - lo) * scale)
            val g = toByte((data[outPlane + i] - lo) * scale)
            val b = toByte((data[2 * outPlane + i] - lo) * scale)
            pixels[i] = (0xFF shl 24) or (r shl 16) or (g shl 8) or b
        }
        val bitmap = outputs[nextOutput]
        nextOutput = 1 - nextOutput
        bitmap.setPixels(pixels, 0, output.width, 0, 0, output.width, output.height)
        return bitmap
    }

    private fun toByte(value: Float): Int = (value + 0.5f).toInt().coerceIn(0, 255)
}
