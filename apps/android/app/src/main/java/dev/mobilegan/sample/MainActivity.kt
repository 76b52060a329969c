package dev.mobilegan.sample

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.net.Uri
import android.os.Bundle
import android.util.Log
import android.view.View
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import androidx.core.view.updatePadding
import androidx.lifecycle.lifecycleScope
import com.google.android.material.chip.Chip
import dev.mobilegan.sample.databinding.ActivityMainBinding
import kotlinx.coroutines.CompletableDeferred
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
 * the last 30 runs. Self-test and benchmark buttons; both can also be started from adb, on a
 * fresh start (`-S`) or on the running app (singleTop: the extras arrive through onNewIntent):
 *   adb shell am start -S -n dev.mobilegan.sample/.MainActivity --ez benchmark true --ei runs 50 --ei warmup 5
 *   adb shell am start -n dev.mobilegan.sample/.MainActivity --ez selftest true
 * All inference runs on one background thread, which alone touches [model]; the main thread
 * only shows results.
 */
class MainActivity : AppCompatActivity() {
    private lateinit var binding: ActivityMainBinding
    private val inferenceExecutor: ExecutorService = Executors.newSingleThreadExecutor()
    private val inference: CoroutineDispatcher = inferenceExecutor.asCoroutineDispatcher()
    private val latency = LatencyWindow(30)
    private val modelReady = CompletableDeferred<Unit>()
    private var modelDir: File? = null
    private var card: ModelCard? = null

    /** Read and replaced on the inference thread only (see [withModel], [onCameraFrame]). */
    private var model: StyleEngine? = null
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
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        binding = ActivityMainBinding.inflate(layoutInflater)
        setContentView(binding.root)
        padForSystemBars()
        binding.pickButton.setOnClickListener {
            pickMedia.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
        }
        binding.cameraButton.setOnClickListener { toggleCamera() }
        binding.selfTestButton.setOnClickListener { lifecycleScope.launch { runSelfTest() } }
        binding.benchButton.setOnClickListener {
            lifecycleScope.launch { reportErrors("benchmark") { runBenchmark(runs = 30, warmup = 5) } }
        }
        binding.shareButton.setOnClickListener { shareBenchmark() }
        addOnNewIntentListener { newIntent ->
            setIntent(newIntent)
            lifecycleScope.launch { handleLaunchExtras(newIntent) }
        }
        lifecycleScope.launch { loadModel() }
        if (savedInstanceState == null) { // a recreated activity must not rerun the launch's benchmark
            lifecycleScope.launch { handleLaunchExtras(intent) }
        }
    }

    override fun onDestroy() {
        super.onDestroy()
        camera?.stop()
        inferenceExecutor.execute {
            model?.close()
            model = null
        }
        inferenceExecutor.shutdown()
    }

    /** targetSdk 35 draws edge to edge: keep the content clear of the status and navigation bars. */
    private fun padForSystemBars() {
        ViewCompat.setOnApplyWindowInsetsListener(binding.root) { view, insets ->
            val bars = insets.getInsets(WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout())
            view.updatePadding(left = bars.left, top = bars.top, right = bars.right, bottom = bars.bottom)
            WindowInsetsCompat.CONSUMED
        }
    }

    private suspend fun loadModel() {
        try {
            val dir = ModelFiles.install(this)
            val parsed = withContext(Dispatchers.IO) { ModelCard.parse(File(dir, "model.json").readText()) }
            modelDir = dir
            card = parsed
            buildPrecisionChips(parsed)
            openModel(parsed.runnableArtifacts.first())
            setButtonsEnabled(true)
            modelReady.complete(Unit)
        } catch (e: Exception) {
            Log.e(TAG, "model load failed", e)
            binding.modelInfo.text = "Model not loaded: ${e.message}"
            modelReady.completeExceptionally(e)
        }
    }

    private fun buildPrecisionChips(parsed: ModelCard) {
        binding.precisionGroup.removeAllViews()
        for (artifact in parsed.runnableArtifacts) {
            val chip = Chip(this).apply {
                text = if (artifact.target == ModelCard.LITERT_TARGET) "LiteRT ${artifact.precision}" else artifact.precision
                tag = chipTag(artifact)
                isCheckable = true
                isChecked = artifact == parsed.runnableArtifacts.first()
                setOnClickListener { lifecycleScope.launch { reportErrors("model") { openModel(artifact) } } }
            }
            binding.precisionGroup.addView(chip)
        }
    }

    /** Opens [artifact] on the inference thread; the current model is closed only once the new one loaded. */
    private suspend fun openModel(artifact: Artifact) {
        val dir = modelDir ?: return
        val input = withContext(inference) {
            val opened = StyleEngine.open(File(dir, artifact.file), artifact)
            model?.close()
            model = opened
            opened.artifact.input to opened.runtimeLabel
        }
        binding.precisionGroup.findViewWithTag<Chip>(chipTag(artifact))?.isChecked = true
        binding.modelInfo.text =
            "${card?.name} · ${artifact.file} · ${artifact.precision} · ${input.first.width}×${input.first.height} · " +
                input.second
    }

    private fun chipTag(artifact: Artifact): String = "${artifact.target}/${artifact.precision}"

    /**
     * Runs [block] on the inference thread with the model current *then*: a precision switch queued
     * before it has already swapped the model, so [block] never sees a closed one.
     */
    private suspend fun <T> withModel(block: (StyleEngine) -> T): T = withContext(inference) {
        block(model ?: error("no model loaded"))
    }

    private fun setButtonsEnabled(enabled: Boolean) {
        for (button in listOf(binding.pickButton, binding.cameraButton, binding.selfTestButton, binding.benchButton)) {
            button.isEnabled = enabled
        }
    }

    private suspend fun stylizePhoto(uri: Uri) {
        val (bitmap, rotation) = withContext(Dispatchers.IO) { PhotoDecoder.decode(contentResolver, uri) }
        val (input, output, ms) = withModel { current ->
            val (stylized, elapsed) = current.stylize(bitmap, rotation)
            // What the model saw (EXIF-rotated, centre-cropped), copied: the converter reuses its bitmap.
            Triple(current.pixels.modelInput.copy(Bitmap.Config.ARGB_8888, false), stylized, elapsed)
        }
        binding.preview.visibility = View.GONE
        binding.inputImage.visibility = View.VISIBLE
        binding.inputImage.setImageBitmap(input)
        showOutput(output, ms)
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
        camera = CameraFeed(this, this, binding.preview, inferenceExecutor, ::onCameraFrame).also { it.start() }
    }

    /** A camera frame, on the inference thread (the analyzer's executor). A failure stops the camera and is shown. */
    private fun onCameraFrame(frame: Bitmap, rotation: Int) {
        val current = model ?: return
        try {
            val (output, ms) = current.stylize(frame, rotation)
            runOnUiThread { showOutput(output, ms) }
        } catch (e: Exception) {
            Log.e(TAG, "camera frame failed", e)
            runOnUiThread {
                stopCamera()
                binding.report.text = "camera frame failed: ${e.message}"
            }
        }
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
            runCatching { SelfTest(dir, parsed).run { artifact -> StyleEngine.open(File(dir, artifact.file), artifact) } }
        }
        val text = report.fold({ it.describe() }, { "SELF-TEST ERROR: ${it.message}" })
        Log.i(TAG, text)
        binding.report.text = text
    }

    private suspend fun runBenchmark(runs: Int, warmup: Int) {
        val parsed = card ?: return
        binding.report.text = "benchmark: $warmup warm-up + $runs timed runs…"
        val result = withModel { current ->
            BenchResult.measure(
                parsed.name, current.artifact.precision, parsed.size, runs, warmup, current.benchRuntime,
            ) { current.run().second }
        }
        val json = result.toJson()
        val file = withContext(Dispatchers.IO) { result.save(json.toString(2), getExternalFilesDir(null) ?: filesDir) }
        lastBenchFile = file
        binding.shareButton.isEnabled = true
        // One line in logcat for scripts: adb logcat -s MobileganBench
        Log.i(BENCH_TAG, json.toString())
        binding.report.text = "${result.summary()}\nsaved ${file.path}\n\n${json.toString(2)}"
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

    /**
     * `--es precision`, `--es backend` (executorch or litert), `--ez selftest`, `--ez benchmark`
     * (`--ei runs`, `--ei warmup`), once the model is loaded.
     */
    private suspend fun handleLaunchExtras(intent: Intent) {
        val extras = intent.extras ?: return
        reportErrors("launch extras") {
            modelReady.await()
            val backend = extras.getString("backend")
            val precision = extras.getString("precision")
            if (backend != null || precision != null) {
                val wantedTarget = backend ?: ModelCard.TARGET
                val artifact = card?.runnableArtifacts?.firstOrNull {
                    it.target == wantedTarget && (precision == null || it.precision == precision)
                } ?: error("model.json lists no $wantedTarget ${precision ?: ""} file")
                openModel(artifact)
            }
            if (extras.getBoolean("selftest", false)) {
                runSelfTest()
            }
            if (extras.getBoolean("benchmark", false)) {
                runBenchmark(runs = extras.getInt("runs", 30), warmup = extras.getInt("warmup", 5))
            }
        }
    }

    private companion object {
        const val TAG = "Mobilegan"
        const val BENCH_TAG = "MobileganBench"
    }
}
