/// The one place where raw pointers cross into concurrent closures (Swift 6 strict concurrency).
/// The caller guarantees that concurrent tasks touch disjoint elements.
public struct SendablePointer<T>: @unchecked Sendable {
  public let base: UnsafeMutablePointer<T>
  public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

public struct SendableConstPointer<T>: @unchecked Sendable {
  public let base: UnsafePointer<T>
  public init(_ base: UnsafePointer<T>) { self.base = base }
}
