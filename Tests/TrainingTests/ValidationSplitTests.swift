import Testing

@testable import Training

@Suite struct ValidationSplitTests {
  private func numbered(_ n: Int) -> ImageDataset {
    ImageDataset(
      images: (0..<n).map(Float.init), labels: (0..<n).map { $0 % 3 }, channels: 1, height: 1, width: 1,
      classCount: 3)
  }

  @Test func lastFractionInFileOrderWithoutSeed() throws {
    let (train, validation) = try numbered(20).validationSplit(fraction: 0.1)
    #expect(validation.images == [18, 19])
    #expect(train.images == (0..<18).map(Float.init))
    #expect(validation.labels == [0, 1])
  }

  @Test func seededSplitIsDisjointCompleteAndReproducible() throws {
    let data = numbered(50)
    let a = try data.validationSplit(fraction: 0.2, seed: 7)
    let b = try data.validationSplit(fraction: 0.2, seed: 7)
    let c = try data.validationSplit(fraction: 0.2, seed: 8)
    #expect(a.validation.images == b.validation.images)
    #expect(a.validation.images != c.validation.images)
    #expect(a.validation.count == 10 && a.train.count == 40)
    #expect(Set(a.train.images).isDisjoint(with: a.validation.images))
    #expect(Set(a.train.images + a.validation.images) == Set(data.images))
    #expect(a.validation.images == a.validation.images.sorted())
    for (image, label) in zip(a.validation.images, a.validation.labels) { #expect(Int(image) % 3 == label) }
  }

  @Test func refusesFractionsThatLeaveAnEmptySplit() {
    for bad in [0, 1, -0.5, .nan, .infinity, 0.001] {
      #expect(throws: TrainingError.self) { try numbered(20).validationSplit(fraction: bad) }
    }
  }
}
