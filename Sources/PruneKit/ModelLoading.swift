import Compression
import Foundation
import ModelGraph

extension ModelFile {
  /// `ModelFile.load`, plus `.pkz` files (decoded by Compression: quantized weights and masks
  /// restored). The CLI's `run` and `inspect` load models through this, so a `.pkz` runs directly.
  public static func loadAny(_ path: String) throws -> Graph {
    if (path as NSString).pathExtension.lowercased() == "pkz" { return try Graph(pkz: path) }
    return try load(path)
  }
}
