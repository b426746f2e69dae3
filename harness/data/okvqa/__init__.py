"""OK-VQA: questions, answers and text-based vision from three sources, written to the on-disk format.

Sources (`dataset.okvqa.source`): `files` (the official question files with the official annotations, or with
LXMERT-style {answer: score} labels, plus optional caption TSV, detection JSON and a COCO image folder: both the
official release and a local folder shaped like it) and `hub` (BByrneLab/OKVQA_FLMR_preprocessed_data, or a
local copy of its parquet files). `build.build_okvqa` carves the validation split from train, attaches a corpus
and writes pseudo-relevance qrels.
"""
