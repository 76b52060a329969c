import SwiftUI

@main
struct MobileGANApp: App {
    var body: some Scene {
        WindowGroup {
            ContentView()
        }
    }
}
