// Report: Codable result types and their renderers (JSON, Markdown, HTML with SVG charts, CSV).
// Foundation only; takes plain values.
import Foundation
