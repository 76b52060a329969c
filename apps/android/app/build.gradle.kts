plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "dev.mobilegan.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.mobilegan.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // executorch-android and litert ship arm64-v8a (phones) and x86_64 (emulator) native libraries.
        ndk {
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
            // Sample app: sign release builds with the debug key so `installRelease` works out of the box.
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }

    buildFeatures {
        viewBinding = true
    }

    androidResources {
        // Keep models uncompressed in the APK: the first-run copy to filesDir is then a plain read.
        noCompress += listOf("pte", "bpte", "tflite", "f32")
    }
}

dependencies {
    implementation(libs.executorch.android)
    implementation(libs.litert)
    implementation(libs.litert.gpu)
    implementation(libs.fbjni)
    implementation(libs.soloader.nativeloader)
    implementation(libs.camerax.core)
    implementation(libs.camerax.camera2)
    implementation(libs.camerax.lifecycle)
    implementation(libs.camerax.view)
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.activity.ktx)
    implementation(libs.androidx.appcompat)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.lifecycle.runtime.ktx)
    implementation(libs.androidx.constraintlayout)
    implementation(libs.material)
    testImplementation(libs.junit)
    testImplementation(libs.org.json)
}
