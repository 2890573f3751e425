import Dispatch
import Foundation
import PruneKit

/// On SIGINT, SIGTERM or SIGHUP: removes the temporary files of writes in progress
/// (`TemporaryFiles.removeActive()`), then ends the process by the same signal (exit status 128 + n,
/// as without the handler). The handler runs on a dispatch queue, not in signal context, so it may
/// take locks and allocate. A `kill -9` cannot be caught: its leftover is removed by the next write
/// to the same destination.
enum SignalCleanup {
  nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

  static func install() {
    for number in [SIGINT, SIGTERM, SIGHUP] where !isIgnored(number) {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        for path in TemporaryFiles.removeActive() { note("interrupted: removed \(path)") }
        signal(number, SIG_DFL)
        kill(getpid(), number)
      }
      source.resume()
      sources.append(source)
    }
  }

  /// True when the signal was ignored when the process started (nohup, a background job of a
  /// non-interactive shell): it stays ignored.
  private static func isIgnored(_ number: Int32) -> Bool {
    var current = sigaction()
    guard sigaction(number, nil, &current) == 0 else { return false }
    #if canImport(Glibc)
      return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1  // SIG_IGN
    #else
      return unsafeBitCast(current.__sigaction_u.__sa_handler, to: Int.self) == 1
    #endif
  }
}
