from harness.api import MethodSpec

METHOD = MethodSpec(
    name="bm25",
    target="methods.bm25.model:BM25Retriever",
    family="sparse",
    modalities=("text", "text-based-vision"),
    description="BM25 (bm25s, Lucene scoring) over the question plus text-based vision; nothing to train.",
)
