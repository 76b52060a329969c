package dev.mobilegan.sample

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.media.ExifInterface
import android.net.Uri
import android.os.Bundle
import android.util.Log
import android.view.View
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import androidx.lifecycle.lifecycleScope
import com.google.android.material.chip.Chip
import dev.mobilegan.sample.databinding.ActivityMainBinding
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Photo picker or live camera in, stylized image out, side by side, with the median latency of
 * the last 30 runs. Self-test and benchmark buttons; both can also be started from adb:
 *   adb shell am start -n dev.mobilegan.sample/.MainActivity --ez benchmark true --ei runs 50 --ei warmup 5
 *   adb shell am start -n dev.mobilegan.sample/.MainActivity --ez selftest true
 * All inference runs on one background thread; the main thread only shows results.
 */
class MainActivity : AppCompatActivity() {
    private lateinit var binding: ActivityMainBinding
    private val inferenceExecutor: ExecutorService = Executors.newSingleThreadExecutor()
    private val inference: CoroutineDispatcher = inferenceExecutor.asCoroutineDispatcher()
    private val latency = LatencyWindow(30)
    private var modelDir: File? = null
    private var card: ModelCard? = null
    private var model: StyleModel? = null
    private var camera: CameraFeed? = null
    private var lastBenchFile: File? = null

    private val pickMedia = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) {
            stopCamera()
            lifecycleScope.launch { reportErrors("photo") { stylizePhoto(uri) } }
        }
    }

    private val cameraPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) {
            startCamera()
        } else {
            binding.report.text = getString(R.string.camera_denied)
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        binding = ActivityMainBinding.inflate(layoutInflater)
        setContentView(binding.root)
        binding.pickButton.setOnClickListener {
            pickMedia.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        binding.cameraButton.setOnClickListener { toggleCamera() }
        binding.selfTestButton.setOnClickListener { lifecycleScope.launch { runSelfTest() } }
        binding.benchButton.setOnClickListener {
            lifecycleScope.launch { reportErrors("benchmark") { runBenchmark(runs = 30, warmup = 5) } }
        }
        binding.shareButton.setOnClickListener { shareBenchmark() }
        lifecycleScope.launch { loadModel() }
    }

    override fun onDestroy() {
        super.onDestroy()
        camera?.stop()
        inferenceExecutor.execute { model?.close() }
        inferenceExecutor.shutdown()
    }

    private suspend fun loadModel() {
        try {
            val dir = ModelFiles.install(this)
            val parsed = withContext(Dispatchers.IO) { ModelCard.parse(File(dir, "model.json").readText()) }
            modelDir = dir
            card = parsed
            buildPrecisionChips(parsed)
            openModel(parsed.executorchArtifacts.first())
            setButtonsEnabled(true)
            handleLaunchExtras(intent)
        } catch (e: Exception) {
            Log.e(TAG, "model load failed", e)
            binding.modelInfo.text = "Model not loaded: ${e.message}"
        }
    }

    private fun buildPrecisionChips(parsed: ModelCard) {
        binding.precisionGroup.removeAllViews()
        for (artifact in parsed.executorchArtifacts) {
            val chip = Chip(this).apply {
                text = artifact.precision
                isCheckable = true
                isChecked = artifact == parsed.executorchArtifacts.first()
                setOnClickListener { lifecycleScope.launch { reportErrors("model") { openModel(artifact) } } }
            }
            binding.precisionGroup.addView(chip)
        }
    }

    private suspend fun openModel(artifact: Artifact) {
        val dir = modelDir ?: return
        val opened = withContext(inference) {
            model?.close()
            model = null
            StyleModel(File(dir, artifact.file), artifact).also { model = it }
        }
        val input = opened.artifact.input
        binding.modelInfo.text =
            "${card?.name} · ${artifact.file} · ${artifact.precision} · ${input.width}×${input.height} · ExecuTorch XNNPACK"
    }

    private fun setButtonsEnabled(enabled: Boolean) {
        for (button in listOf(binding.pickButton, binding.cameraButton, binding.selfTestButton, binding.benchButton)) {
            button.isEnabled = enabled
        }
    }

    private suspend fun stylizePhoto(uri: Uri) {
        val (bitmap, rotation) = withContext(Dispatchers.IO) { decodePhoto(uri) }
        val current = model ?: return
        val (output, ms) = withContext(inference) { current.stylize(bitmap, rotation) }
        binding.preview.visibility = View.GONE
        binding.inputImage.visibility = View.VISIBLE
        binding.inputImage.setImageBitmap(bitmap)
        binding.inputImage.rotation = rotation.toFloat()
        showOutput(output, ms)
    }

    /** Decodes a picked photo, downsampled to about 1024 px, plus its EXIF rotation. */
    private fun decodePhoto(uri: Uri): Pair<Bitmap, Int> {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        contentResolver.openInputStream(uri).use { BitmapFactory.decodeStream(it, null, bounds) }
        var sample = 1
        while (maxOf(bounds.outWidth, bounds.outHeight) / (sample * 2) >= 1024) {
            sample *= 2
        }
        val options = BitmapFactory.Options().apply {
            inSampleSize = sample
            inPreferredConfig = Bitmap.Config.ARGB_8888
        }
        val bitmap = contentResolver.openInputStream(uri).use { BitmapFactory.decodeStream(it, null, options) }
            ?: error("could not decode the picked image")
        val rotation = contentResolver.openInputStream(uri).use { stream ->
            if (stream == null) 0 else exifRotation(ExifInterface(stream))
        }
        return bitmap to rotation
    }

    private fun exifRotation(exif: ExifInterface): Int =
        when (exif.getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)) {
            ExifInterface.ORIENTATION_ROTATE_90 -> 90
            ExifInterface.ORIENTATION_ROTATE_180 -> 180
            ExifInterface.ORIENTATION_ROTATE_270 -> 270
            else -> 0
        }

    private fun showOutput(output: Bitmap, ms: Double) {
        latency.add(ms)
        binding.outputImage.setImageBitmap(output)
        binding.latency.text = "%.1f ms median of last %d".format(latency.median(), latency.count)
    }

    private fun toggleCamera() {
        if (camera != null) {
            stopCamera()
        } else if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            cameraPermission.launch(Manifest.permission.CAMERA)
        }
    }

    private fun startCamera() {
        binding.inputImage.visibility = View.GONE
        binding.preview.visibility = View.VISIBLE
        binding.cameraButton.text = getString(R.string.stop_camera)
        camera = CameraFeed(this, this, binding.preview, inferenceExecutor) { frame, rotation ->
            // Already on the inference thread.
            model?.let { current ->
                val (output, ms) = current.stylize(frame, rotation)
                runOnUiThread { showOutput(output, ms) }
            }
        }.also { it.start() }
    }

    private fun stopCamera() {
        camera?.stop()
        camera = null
        binding.cameraButton.text = getString(R.string.start_camera)
    }

    /** Runs [block]; a failure becomes a line on screen and in logcat instead of a crash. */
    private suspend fun reportErrors(what: String, block: suspend () -> Unit) {
        try {
            block()
        } catch (e: Exception) {
            Log.e(TAG, "$what failed", e)
            binding.report.text = "$what failed: ${e.message}"
        }
    }

    private suspend fun runSelfTest() {
        val dir = modelDir ?: return
        val parsed = card ?: return
        binding.report.text = "self-test running…"
        val report = withContext(inference) {
            runCatching { SelfTest(dir, parsed).run { artifact -> StyleModel(File(dir, artifact.file), artifact) } }
        }
        val text = report.fold({ it.describe() }, { "SELF-TEST ERROR: ${it.message}" })
        Log.i(TAG, text)
        binding.report.text = text
    }

    private suspend fun runBenchmark(runs: Int, warmup: Int) {
        val current = model ?: return
        val parsed = card ?: return
        binding.report.text = "benchmark: $warmup warm-up + $runs timed runs…"
        val result = withContext(inference) {
            BenchResult.measure(parsed.name, current.artifact.precision, parsed.size, runs, warmup) { current.run().second }
        }
        val json = result.toJson()
        val file = withContext(Dispatchers.IO) { saveBenchmark(json.toString(2), result) }
        lastBenchFile = file
        binding.shareButton.isEnabled = true
        // One line in logcat for scripts: adb logcat -s MobileganBench
        Log.i(BENCH_TAG, json.toString())
        binding.report.text = "${result.summary()}\nsaved ${file.path}\n\n${json.toString(2)}"
    }

    private fun saveBenchmark(text: String, result: BenchResult): File {
        val dir = File(getExternalFilesDir(null) ?: filesDir, "bench").apply { mkdirs() }
        val stamp = System.currentTimeMillis()
        val file = File(dir, "bench-${result.model}-${result.precision}-$stamp.json")
        val partial = File(dir, ".${file.name}.tmp")
        partial.writeText(text)
        check(partial.renameTo(file)) { "could not write ${file.path}" }
        return file
    }

    private fun shareBenchmark() {
        val file = lastBenchFile ?: return
        val uri = FileProvider.getUriForFile(this, "$packageName.files", file)
        val send = Intent(Intent.ACTION_SEND).apply {
            type = "application/json"
            putExtra(Intent.EXTRA_STREAM, uri)
            addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
        }
        startActivity(Intent.createChooser(send, getString(R.string.share)))
    }

    private suspend fun handleLaunchExtras(intent: Intent?) {
        val extras = intent?.extras ?: return
        val precision = extras.getString("precision")
        val artifact = card?.executorchArtifacts?.firstOrNull { it.precision == precision }
        if (artifact != null) {
            openModel(artifact)
        }
        if (extras.getBoolean("selftest", false)) {
            runSelfTest()
        }
        if (extras.getBoolean("benchmark", false)) {
            reportErrors("benchmark") { runBenchmark(runs = extras.getInt("runs", 30), warmup = extras.getInt("warmup", 5)) }
        }
    }

    private companion object {
        const val TAG = "Mobilegan"
        const val BENCH_TAG = "MobileganBench"
    }
}
