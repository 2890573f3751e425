#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Checks of an output path, made before long work starts (and again by every atomic write), so
/// that a run does not train for an hour and then fail to save, and never replaces what is not a
/// regular file.
///
/// | at the path | result |
/// |---|---|
/// | nothing, in a writable folder | fine |
/// | a regular file (or a symlink to one), not an input | fine: replaced by the new file (a symlink itself is replaced) |
/// | a folder, device, FIFO, socket, or a symlink to one | error |
/// | the same file as an input (same device and inode) | error |
/// | a parent that is missing, not a folder, or not writable | error |
public enum OutputPath {
  /// Throws `ModelGraphError.unwritable` naming `path` and the reason when `path` cannot be
  /// written safely, or is the same file as one of `inputs`.
  public static func check(_ path: String, inputs: [String] = []) throws(ModelGraphError) {
    if let reason = problem(path, inputs: inputs) { throw .unwritable(path: path, reason: reason) }
  }

  /// The reason `path` cannot be written safely, or nil.
  public static func problem(_ path: String, inputs: [String] = []) -> String? {
    guard !path.isEmpty else { return "an empty path" }
    guard !path.hasSuffix("/") else { return "names a folder; give a file name" }
    let folder = TemporaryFiles.folder(of: path)
    var info = stat()
    if stat(folder, &info) != 0 {
      let code = errno
      if code == ENOTDIR { return "\(parentThatIsAFile(folder) ?? folder) is a file, not a folder" }
      if code == ENOENT { return "folder \(folder) does not exist" }
      return "folder \(folder): \(String(cString: strerror(code)))"
    }
    guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(folder) is a file, not a folder" }
    guard access(folder, W_OK) == 0 else { return "folder \(folder) is not writable" }
    var link = stat()
    guard lstat(path, &link) == 0 else { return nil }  // nothing there yet
    var target = stat()
    let isLink = (link.st_mode & S_IFMT) == S_IFLNK
    if isLink {
      guard stat(path, &target) == 0 else { return nil }  // dangling link: replaced
    } else {
      target = link
    }
    let kind = target.st_mode & S_IFMT
    guard kind == S_IFREG else {
      let what = kindName(kind)
      return (isLink ? "is a symbolic link to \(what)" : "is \(what)")
        + "; PruneKit only replaces regular files"
    }
    for input in inputs {
      var other = stat()
      if stat(input, &other) == 0, other.st_dev == target.st_dev, other.st_ino == target.st_ino {
        return "is the input file \(input); write the output to another path"
      }
    }
    return nil
  }

  static func kindName(_ kind: mode_t) -> String {
    switch kind {
    case S_IFDIR: return "a folder"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFSOCK: return "a socket"
    default: return "not a regular file"
    }
  }

  /// The first ancestor of `folder` that exists and is not a folder ("a/b/c" → "a" when a is a file).
  private static func parentThatIsAFile(_ folder: String) -> String? {
    var current: String? = folder.hasPrefix("/") ? "" : nil
    for part in folder.split(separator: "/") {
      current = current.map { "\($0)/\(part)" } ?? String(part)
      var info = stat()
      if let path = current, stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR { return path }
    }
    return nil
  }
}

/// Checks of an input file before it is read: a FIFO or a symlink to /dev/zero would block or never
/// end, so only regular files are read.
public enum InputPath {
  /// Throws `fileNotFound`, or `unreadable` naming what is at `path` when it is not a regular file.
  public static func check(_ path: String) throws(ModelGraphError) {
    var info = stat()
    guard stat(path, &info) == 0 else {
      let code = errno
      if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
      throw .unreadable(path: path, reason: String(cString: strerror(code)))
    }
    let kind = info.st_mode & S_IFMT
    guard kind == S_IFREG else {
      throw .unreadable(path: path, reason: "\(OutputPath.kindName(kind)), not a regular file")
    }
  }
}
