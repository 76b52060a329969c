package dev.mobilegan.sample

import android.content.Context
import android.graphics.Bitmap
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleOwner
import java.util.concurrent.Executor

/**
 * CameraX preview plus an RGBA analysis stream. Frames arrive on [analysisExecutor] (the app's
 * single inference thread) and are copied into one reused Bitmap; slow frames are dropped
 * (STRATEGY_KEEP_ONLY_LATEST), so inference never queues up behind the camera.
 * One feed per start: after [stop] it never binds, even when the camera provider resolves later.
 * [start] and [stop] are called on the main thread.
 */
class CameraFeed(
    private val context: Context,
    private val owner: LifecycleOwner,
    private val previewView: PreviewView,
    private val analysisExecutor: Executor,
    private val onFrame: (Bitmap, Int) -> Unit,
) {
    private var provider: ProcessCameraProvider? = null
    private var frame: Bitmap? = null
    private var stopped = false

    fun start() {
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            if (!stopped) {
                bind(future.get())
            }
        }, ContextCompat.getMainExecutor(context))
    }

    fun stop() {
        stopped = true
        provider?.unbindAll()
        provider = null
    }

    private fun bind(cameraProvider: ProcessCameraProvider) {
        val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
        val analysis = ImageAnalysis.Builder()
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .build()
        analysis.setAnalyzer(analysisExecutor) { image -> image.use { deliver(it) } }
        cameraProvider.unbindAll()
        cameraProvider.bindToLifecycle(owner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        provider = cameraProvider
    }

    private fun deliver(image: ImageProxy) {
        val plane = image.planes[0]
        val bitmap = frameBitmap(image.width, image.height)
        if (plane.rowStride == image.width * plane.pixelStride) {
            plane.buffer.rewind()
            bitmap.copyPixelsFromBuffer(plane.buffer)
            onFrame(bitmap, image.imageInfo.rotationDegrees)
        } else {
            // Padded rows: let CameraX convert (allocates, but only on devices that pad).
            onFrame(image.toBitmap(), image.imageInfo.rotationDegrees)
        }
    }

    private fun frameBitmap(width: Int, height: Int): Bitmap {
        val current = frame
        if (current != null && current.width == width && current.height == height) {
            return current
        }
        return Bitmap.createBitmap(width, height, Bitmap.Config.ARGB_8888).also { frame = it }
    }
}
