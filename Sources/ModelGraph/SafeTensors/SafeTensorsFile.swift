import TensorCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A safetensors file opened by memory mapping: the header is parsed and validated at open, tensors
/// are copied out lazily, by name, so a model larger than memory costs only the tensors asked for.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// let w = try file.tensor(named: "encoder.layer.0.attention.self.query.weight")  // [384, 384]
/// ```
/// The mapping is read-only and private; it is released when the object is deallocated.
public final class SafeTensorsFile: @unchecked Sendable {
  public let path: String
  public let header: SafeTensorsHeader
  /// File size in bytes.
  public let fileSize: Int
  private let base: UnsafeRawPointer
  private let index: [String: Int]

  public init(path: String) throws(ModelGraphError) {
    self.path = path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      let code = errno
      if code == ENOENT { throw .fileNotFound(path: path) }
      throw .unreadable(path: path, reason: String(cString: strerror(code)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw .unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw .unreadable(path: path, reason: "not a regular file")
    }
    let size = Int(info.st_size)
    guard size >= 8 else {
      throw .malformed(
        file: path, at: "header length", expected: "at least 8 bytes (a safetensors file)",
        found: "a file of \(size) bytes")
    }
    guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
      throw .unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
    }
    let pointer = UnsafeRawPointer(mapped)
    do {
      header = try SafeTensorsHeader.parse(
        file: path, fileSize: size, bytes: UnsafeRawBufferPointer(start: pointer, count: size))
    } catch {
      munmap(mapped, size)
      throw error
    }
    base = pointer
    fileSize = size
    var index: [String: Int] = [:]
    for (i, entry) in header.entries.enumerated() { index[entry.name] = i }
    self.index = index
  }

  deinit { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }

  /// Tensor names in file order.
  public var names: [String] { header.entries.map(\.name) }
  public var metadata: [String: String] { header.metadata }
  public func contains(_ name: String) -> Bool { index[name] != nil }

  /// The header entry of `name`; throws naming the file and the tensor when absent.
  public func entry(named name: String) throws(ModelGraphError) -> SafeTensorsEntry {
    guard let i = index[name] else {
      let near = names.filter { $0.hasSuffix(name) || name.hasSuffix($0) }.prefix(3)
      let hint =
        near.isEmpty
        ? "\(names.count) tensors" : "\(names.count) tensors, similar: \(near.joined(separator: ", "))"
      throw .malformed(file: path, at: "tensor '\(name)'", expected: "a tensor of this name", found: hint)
    }
    return header.entries[i]
  }

  /// Calls `body` with the tensor's bytes inside the mapping (valid only during the call).
  public func withRawBytes<R>(
    of name: String, _ body: (UnsafeRawBufferPointer) throws -> R
  ) throws -> R {
    let e = try entry(named: name)
    return try body(UnsafeRawBufferPointer(start: base + header.dataStart + e.begin, count: e.byteCount))
  }

  /// A copy of the tensor's little-endian bytes; works for every dtype code, F8 included.
  public func rawBytes(of name: String) throws(ModelGraphError) -> [UInt8] {
    let e = try entry(named: name)
    return Array(UnsafeRawBufferPointer(start: base + header.dataStart + e.begin, count: e.byteCount))
  }

  /// The tensor `name`, copied out of the mapping. float32/int64 become typed storage, the other
  /// dtypes `.bytes`. An 8-bit float tensor throws (no `DType`; use `rawBytes(of:)`).
  public func tensor(named name: String) throws(ModelGraphError) -> Tensor {
    let e = try entry(named: name)
    guard let dtype = e.code.dtype else {
      throw .malformed(
        file: path, at: "tensor '\(name)' dtype", expected: "a dtype PruneKit computes with (not F8)",
        found: "\(e.code.code): unsupported; read it with rawBytes(of:)")
    }
    let source = base + header.dataStart + e.begin
    let count = Tensor.elementCount(e.shape)
    switch dtype {
    case .float32:
      let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { memcpy(buffer.baseAddress!, source, e.byteCount) }
        initialized = count
      }
      return Tensor(shape: e.shape, floats: values)
    case .int64:
      let values = [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { memcpy(buffer.baseAddress!, source, e.byteCount) }
        initialized = count
      }
      return Tensor(shape: e.shape, int64s: values)
    default:
      let bytes = Array(UnsafeRawBufferPointer(start: source, count: e.byteCount))
      do {
        return try Tensor(shape: e.shape, dtype: dtype, bytes: bytes)
      } catch {
        throw .malformed(file: path, at: "tensor '\(name)'", expected: "\(e.shape)", found: "\(error)")
      }
    }
  }

  /// Every tensor (F8 excluded would be silent: this throws on them like `tensor(named:)`).
  public func allTensors() throws(ModelGraphError) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for name in names { out[name] = try tensor(named: name) }
    return out
  }
}
