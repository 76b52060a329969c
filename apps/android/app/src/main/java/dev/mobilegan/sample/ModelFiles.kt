package dev.mobilegan.sample

import android.content.Context
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import java.io.File
import java.security.MessageDigest

/**
 * ExecuTorch loads programs from a file path, so the model folder shipped in assets/model/
 * (written there by `mobilegan export --app android`) is copied to filesDir/model/ once, and again
 * whenever the bundled model.json changes (a different model was installed and the app rebuilt).
 */
object ModelFiles {
    private const val ASSET_DIR = "model"
    private const val CARD = "model.json"
    private const val STAMP = ".installed-sha256"

    suspend fun install(context: Context): File = withContext(Dispatchers.IO) {
        val assets = context.assets
        val cardBytes = try {
            assets.open("$ASSET_DIR/$CARD").use { it.readBytes() }
        } catch (e: java.io.IOException) {
            throw IllegalStateException(
                "no model in the APK: run `mobilegan export ... --app android` and rebuild",
                e,
            )
        }
        val digest = sha256(cardBytes)
        val target = File(context.filesDir, ASSET_DIR)
        val stamp = File(target, STAMP)
        if (stamp.isFile && stamp.readText() == digest) {
            return@withContext target
        }
        val staging = File(context.filesDir, "$ASSET_DIR.staging")
        staging.deleteRecursively()
        copyTree(context, ASSET_DIR, staging)
        File(staging, STAMP).writeText(digest)
        target.deleteRecursively()
        check(staging.renameTo(target)) { "could not move the model into ${target.path}" }
        target
    }

    private fun copyTree(context: Context, assetPath: String, dest: File) {
        val children = context.assets.list(assetPath).orEmpty()
        if (children.isEmpty()) {
            dest.parentFile?.mkdirs()
            context.assets.open(assetPath).use { input ->
                dest.outputStream().use { output -> input.copyTo(output, bufferSize = 1 shl 16) }
            }
            return
        }
        dest.mkdirs()
        for (child in children) {
            copyTree(context, "$assetPath/$child", File(dest, child))
        }
    }

    private fun sha256(bytes: ByteArray): String =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
}
