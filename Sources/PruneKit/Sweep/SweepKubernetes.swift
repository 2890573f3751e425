import Foundation

/// The Kubernetes manifest of a sweep: an Indexed Job (`completionMode: Indexed`), one completion
/// per cell, the cell index from `JOB_COMPLETION_INDEX`, `parallelism` tasks at once, each index
/// retried `backoffLimitPerIndex` times, the shared sweep folder on a PersistentVolumeClaim mounted
/// as the working directory. Re-applying the Job after some cells failed reruns only those: a done
/// cell's task finds its result and exits at once.
public enum SweepKubernetes {
  /// `directory`: the sweep folder relative to the volume's mount path (or absolute in the container).
  public static func manifest(for file: SweepFile, directory: String, options: SweepJobOptions) -> String {
    let hash = String(file.specHash.prefix(12))
    let parallelism = min(options.parallel ?? file.cellCount, file.cellCount)
    let command = [
      options.executable, "sweep", "-o", directory, "--cell", "$(JOB_COMPLETION_INDEX)", "--threads",
      "\(options.cpusPerTask)",
    ]
    let lines = [
      "# prunekit sweep \(hash): \(file.cellCount) cells (\(file.spec.model); methods "
        + "\(file.spec.methods.joined(separator: ","))); written by prunekit sweep --emit kubernetes.",
      "# kubectl apply -f this file; then prunekit sweep status \(directory) on the shared volume.",
      "apiVersion: batch/v1",
      "kind: Job",
      "metadata:",
      "  name: \(jobName(options.name, hash: hash))",
      "  labels:",
      "    app.kubernetes.io/name: prunekit-sweep",
      "    prunekit.dev/spec-hash: \(quote(hash))",
      "spec:",
      "  completionMode: Indexed",
      "  completions: \(file.cellCount)",
      "  parallelism: \(parallelism)",
      "  backoffLimitPerIndex: \(options.retriesPerCell)",
      "  template:",
      "    metadata:",
      "      labels:",
      "        app.kubernetes.io/name: prunekit-sweep",
      "    spec:",
      "      restartPolicy: Never",
      "      activeDeadlineSeconds: \(options.timeSeconds)",
      "      containers:",
      "        - name: cell",
      "          image: \(quote(options.image))",
      "          workingDir: \(quote(options.mountPath))",
      "          command: [\(command.map(quote).joined(separator: ", "))]",
      "          resources:",
      "            requests:",
      "              cpu: \(quote("\(options.cpusPerTask)"))",
      "              memory: \(quote("\(options.memoryMiB)Mi"))",
      "            limits:",
      "              cpu: \(quote("\(options.cpusPerTask)"))",
      "              memory: \(quote("\(options.memoryMiB)Mi"))",
      "          volumeMounts:",
      "            - name: sweep",
      "              mountPath: \(quote(options.mountPath))",
      "      volumes:",
      "        - name: sweep",
      "          persistentVolumeClaim:",
      "            claimName: \(quote(options.volumeClaim))",
    ]
    return lines.joined(separator: "\n") + "\n"
  }

  /// A DNS-1123 label: lowercase letters, digits and '-', ending with the hash, at most 63 characters.
  static func jobName(_ name: String, hash: String) -> String {
    var base = String(name.lowercased().map { $0.isLetter && $0.isASCII || $0.isNumber ? $0 : "-" })
    base = String(base.prefix(63 - hash.count - 1)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    return (base.isEmpty ? "prunekit-sweep" : base) + "-" + hash
  }

  /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
  static func quote(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
  }
}
