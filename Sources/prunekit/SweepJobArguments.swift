import ArgumentParser
import Foundation
import PruneKit

/// The options of `prunekit sweep --emit slurm|kubernetes`: per-task resources and scheduler pieces.
struct SweepJobArguments: ParsableArguments {
  enum Kind: String { case slurm, kubernetes }

  @Option(parsing: .unconditional, help: "Emit: tasks running at once (Slurm %P, Kubernetes parallelism).")
  var parallel: Int?
  @Option(parsing: .unconditional, help: "Emit: CPUs per task (also its --threads) (default 1).")
  var cpusPerTask: Int?
  @Option(help: "Emit: memory per task, e.g. 4G or 512M (default 4G).") var mem: String?
  @Option(help: "Emit: time limit per task, HH:MM:SS or D-HH:MM:SS (default 01:00:00).") var time: String?
  @Option(help: "Emit: job name (default prunekit-sweep).") var jobName: String?
  @Option(help: "Emit: the prunekit executable on the nodes (default prunekit).") var executable: String?
  @Option(help: "Slurm: partition (default: the cluster's).") var partition: String?
  @Option(help: "Kubernetes: container image with prunekit (default prunekit:latest).") var image: String?
  @Option(help: "Kubernetes: PersistentVolumeClaim of the shared folder (default prunekit-sweeps).")
  var volumeClaim: String?
  @Option(help: "Kubernetes: where the claim is mounted, the working directory (default /work).")
  var mountPath: String?
  @Option(parsing: .unconditional, help: "Kubernetes: retries per failed cell, backoffLimitPerIndex (default 2).")
  var retriesPerCell: Int?

  var given: [String: Bool] {
    [
      "--parallel": parallel != nil, "--cpus-per-task": cpusPerTask != nil, "--mem": mem != nil,
      "--time": time != nil, "--job-name": jobName != nil, "--executable": executable != nil,
      "--partition": partition != nil, "--image": image != nil, "--volume-claim": volumeClaim != nil,
      "--mount-path": mountPath != nil, "--retries-per-cell": retriesPerCell != nil,
    ]
  }

  func check(for kind: Kind, directory: String) throws {
    try OptionCheck.int(parallel, "--parallel", in: 1...100_000)
    try OptionCheck.int(cpusPerTask, "--cpus-per-task", in: 1...1024)
    try OptionCheck.int(retriesPerCell, "--retries-per-cell", in: 0...100)
    _ = try options()
    if directory.contains(where: { $0.isWhitespace }) {
      throw ValidationError("-o \(directory): a job's sweep folder may not contain spaces (#SBATCH lines split on them)")
    }
    switch kind {
    case .slurm:
      try OptionCheck.inapplicable(
        ["--image": image != nil, "--volume-claim": volumeClaim != nil, "--mount-path": mountPath != nil,
         "--retries-per-cell": retriesPerCell != nil],
        because: "they apply with --emit kubernetes (Slurm reruns cells by sbatch --array=LIST)")
    case .kubernetes:
      try OptionCheck.inapplicable(["--partition": partition != nil], because: "it applies with --emit slurm")
      if let mountPath, !mountPath.hasPrefix("/") {
        throw ValidationError("--mount-path \(mountPath): expected an absolute path in the container, e.g. /work")
      }
    }
  }

  func options() throws -> SweepJobOptions {
    var o = SweepJobOptions()
    o.parallel = parallel
    if let cpusPerTask { o.cpusPerTask = cpusPerTask }
    if let mem {
      guard let mib = SweepJobOptions.parseMemory(mem) else {
        throw ValidationError("--mem \(mem): expected a size such as 4G, 512M or 4096 (MiB)")
      }
      o.memoryMiB = mib
    }
    if let time {
      guard let seconds = SweepJobOptions.parseTime(time) else {
        throw ValidationError("--time \(time): expected MM, HH:MM:SS or D-HH:MM:SS")
      }
      o.timeSeconds = seconds
    }
    for (flag, value) in [("--job-name", jobName), ("--executable", executable), ("--partition", partition)] {
      if let value, value.isEmpty || value.contains(where: { $0.isWhitespace }) {
        throw ValidationError("\(flag) '\(value)': expected one word without spaces")
      }
    }
    if let jobName { o.name = jobName }
    if let executable { o.executable = executable }
    o.partition = partition
    if let image { o.image = image }
    if let volumeClaim { o.volumeClaim = volumeClaim }
    if let mountPath { o.mountPath = mountPath }
    if let retriesPerCell { o.retriesPerCell = retriesPerCell }
    return o
  }
}
