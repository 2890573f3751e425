// Compression: k-means weight sharing, int8, sparse index coding, Huffman coding and the `.pkz`
// container. Imports ModelGraph only.
import ModelGraph
