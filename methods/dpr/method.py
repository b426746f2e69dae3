from harness.api import MethodSpec

METHOD = MethodSpec(
    name="dpr",
    target="methods.dpr.model:DPRRetriever",
    family="dense",
    modalities=("text", "text-based-vision"),
    description="Dense Passage Retrieval: separate query and passage BERT encoders, [CLS] vectors, dot product.",
)
