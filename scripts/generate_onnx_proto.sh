#!/usr/bin/env bash
# Regenerates Sources/ModelGraph/ONNX/onnx.pb.swift from the onnx.proto shipped in the `onnx` wheel.
# Not part of the build: run by hand when the ONNX schema is to be updated, then commit the output.
#
# Needs: python3 with `pip install onnx` (1.23.2 was used), `protoc` (apt-get install protobuf-compiler;
# 3.21.12 was used) and network-free access to the swift-protobuf 1.39.0 checkout (default
# /opt/swift-packages/apple/swift-protobuf.git, override with SWIFT_PROTOBUF_GIT).
# The plugin is built in a scratch folder outside the repository.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
src_git="${SWIFT_PROTOBUF_GIT:-/opt/swift-packages/apple/swift-protobuf.git}"
work="${TMPDIR:-/tmp}/prunekit-protoc-gen-swift"
mkdir -p "$work"
if [ ! -x "$work/build/release/protoc-gen-swift" ]; then
  rm -rf "$work/src"
  git clone -q "$src_git" "$work/src"
  git -C "$work/src" checkout -q 1.39.0
  (cd "$work/src" && swift build -c release --product protoc-gen-swift --scratch-path "$work/build")
fi
proto_dir="$(python3 -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')"
onnx_version="$(python3 -c 'import onnx; print(onnx.__version__)')"
out="$repo/Sources/ModelGraph/ONNX"
tmp="$(mktemp -d)"
# Visibility=Internal: the generated types stay inside ModelGraph; the public API is Graph.
protoc --plugin=protoc-gen-swift="$work/build/release/protoc-gen-swift" \
  --proto_path="$proto_dir" --swift_out="$tmp" --swift_opt=Visibility=Internal "$proto_dir/onnx.proto"
{
  echo "// GENERATED FILE, do not edit. Made by scripts/generate_onnx_proto.sh:"
  echo "// protoc $(protoc --version | cut -d' ' -f2) + protoc-gen-swift (swift-protobuf 1.39.0),"
  echo "// from onnx.proto of the onnx $onnx_version Python wheel, Visibility=Internal."
  echo "// swift-format-ignore-file"
  cat "$tmp/onnx.pb.swift"
} > "$out/onnx.pb.swift"
rm -rf "$tmp"
echo "wrote $out/onnx.pb.swift"
