import Foundation

/// The `sbatch` script of a sweep: a job array with one task per cell (`SLURM_ARRAY_TASK_ID` is the
/// cell index), at most `parallel` at once (`--array=0-N%P`), per-task CPUs, memory and time, one
/// log file per task, results as atomic JSON files in the shared sweep folder. Resubmitting only
/// some cells is `sbatch --array=LIST` on the same script (command-line options override #SBATCH).
public enum SweepSlurm {
  /// `directory`: the sweep folder as the tasks see it, relative to the submit directory (or absolute).
  public static func script(for file: SweepFile, directory: String, options: SweepJobOptions) -> String {
    let last = file.cellCount - 1
    let throttle = options.parallel.map { "%\($0)" } ?? ""
    var lines = [
      "#!/bin/bash",
      "# prunekit sweep \(file.specHash.prefix(12)): \(file.cellCount) cells (\(file.spec.model); "
        + "methods \(file.spec.methods.joined(separator: ","))); written by prunekit sweep --emit slurm.",
      "# Submit from the folder the sweep was made in:  sbatch \(shellQuote(directory))/sweep.sbatch",
      "# Then: prunekit sweep status \(shellQuote(directory))  (prints the --array= list of cells to resubmit)",
      "#SBATCH --job-name=\(options.name)",
      "#SBATCH --array=0-\(last)\(throttle)",
      "#SBATCH --cpus-per-task=\(options.cpusPerTask)",
      "#SBATCH --mem=\(options.memoryMiB)M",
      "#SBATCH --time=\(SweepJobOptions.slurmTime(options.timeSeconds))",
      "#SBATCH --output=\(directory)/logs/%A_%a.out",
    ]
    if let partition = options.partition { lines.append("#SBATCH --partition=\(partition)") }
    lines += [
      "set -euo pipefail",
      "cd \"${SLURM_SUBMIT_DIR:-.}\"",
      "echo \"cell ${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%FT%TZ)\"",
      "exec \(shellQuote(options.executable)) sweep -o \(shellQuote(directory)) --cell \"${SLURM_ARRAY_TASK_ID}\" \\",
      "  --threads \"${SLURM_CPUS_PER_TASK:-\(options.cpusPerTask)}\"",
    ]
    return lines.joined(separator: "\n") + "\n"
  }

  /// `text` as one shell word: unchanged when it is plain, else in single quotes.
  static func shellQuote(_ text: String) -> String {
    let plain = !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:=@%,".contains($0) }
    return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
