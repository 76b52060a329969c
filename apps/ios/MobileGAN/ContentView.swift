import PhotosUI
import SwiftUI

struct ContentView: View {
    @StateObject private var app = AppModel()
    @State private var photo: PhotosPickerItem?

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 12) {
                Text(app.modelInfo)
                    .font(.headline)
                Text(app.status)
                    .font(.subheadline)
                    .foregroundStyle(.secondary)
                HStack(spacing: 8) {
                    ImagePane(image: app.inputImage, caption: "input")
                    ImagePane(image: app.outputImage, caption: "stylized")
                }
                Text(app.latencyText)
                    .font(.callout.monospacedDigit())
                    .frame(maxWidth: .infinity, alignment: .trailing)
                HStack {
                    PhotosPicker("Photo", selection: $photo, matching: .images)
                        .buttonStyle(.borderedProminent)
                    Button(app.cameraOn ? "Stop camera" : "Camera") {
                        Task {
                            await app.toggleCamera()
                        }
                    }
                    .buttonStyle(.bordered)
                }
                HStack {
                    Button("Self-test") {
                        Task {
                            await app.runSelfTest()
                        }
                    }
                    Button("Benchmark") {
                        Task {
                            await app.runBenchmark()
                        }
                    }
                    if let url = app.benchFile {
                        ShareLink(item: url) {
                            Label("Share JSON", systemImage: "square.and.arrow.up")
                        }
                    }
                }
                .buttonStyle(.bordered)
                .disabled(app.busy)
                Text(app.report)
                    .font(.caption.monospaced())
                    .textSelection(.enabled)
            }
            .padding()
        }
        .task {
            await app.load()
        }
        .onChange(of: photo) { item in
            guard let item else {
                return
            }
            Task {
                if let data = try? await item.loadTransferable(type: Data.self) {
                    await app.stylize(photoData: data)
                }
            }
        }
    }
}

private struct ImagePane: View {
    let image: CGImage?
    let caption: String

    var body: some View {
        VStack {
            if let image {
                Image(decorative: image, scale: 1)
                    .resizable()
                    .interpolation(.high)
                    .scaledToFit()
            } else {
                Rectangle()
                    .fill(.quaternary)
                    .aspectRatio(1, contentMode: .fit)
            }
            Text(caption)
                .font(.caption)
        }
        .frame(maxWidth: .infinity)
    }
}
