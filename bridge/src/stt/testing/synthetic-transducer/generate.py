"""Writes a synthetic streaming transducer for sherpa-onnx (encoder.onnx, decoder.onnx, joiner.onnx,
tokens.txt in this directory), laid out as icefall exports an LSTM transducer (model_type "lstm"), so
that sherpa-onnx's real online recognizer loads and runs it. It recognises nothing: each onset of
sound (a 10 ms feature frame whose loudest mel bin passes a threshold, after a quiet one) emits the next word of
"BONJOUR" / "MADAME" in turn. Used by the unit tests because no package ships a real streaming model.

Run: python generate.py   (needs PyPI onnx; the committed files are its output)
"""

from pathlib import Path

import onnx
from onnx import TensorProto, helper

HERE = Path(__file__).parent
OPSET = [helper.make_opsetid("", 13)]
# Loudest log-mel bin of a 10 ms frame: digital silence gives about -15.9 (log of float epsilon).
LOUD = -5.0
T = 32  # feature frames per chunk (ChunkSize), also the shift (decode_chunk_len)


def const(name, value, dtype=TensorProto.FLOAT, dims=()):
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name + "_v", dtype, dims, value if isinstance(value, list) else [value]))


def save(graph, name, metadata):
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=8)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(HERE / name))


# Encoder: x (N, T, 80), h (1, N, 1) = loudness of the previous frame, c (1, N, 1) unused
# -> encoder_out (N, T/4, 1) = 1 where a 4-frame group holds an onset, next_h, next_c.
encoder = helper.make_graph(
    [
        const("axes2", [2], TensorProto.INT64, [1]),
        helper.make_node("ReduceMax", ["x"], ["energy"], axes=[2], keepdims=0),  # (N, T)
        const("loud_threshold", LOUD),
        helper.make_node("Greater", ["energy", "loud_threshold"], ["loud_b"]),
        helper.make_node("Cast", ["loud_b"], ["loud"], to=TensorProto.FLOAT),  # (N, T)
        const("shape_n1", [-1, 1], TensorProto.INT64, [2]),
        helper.make_node("Reshape", ["h", "shape_n1"], ["prev_first"]),  # (N, 1)
        const("s0", [0], TensorProto.INT64, [1]),
        const("sm1", [-1], TensorProto.INT64, [1]),
        const("ax1", [1], TensorProto.INT64, [1]),
        helper.make_node("Slice", ["loud", "s0", "sm1", "ax1"], ["loud_head"]),  # (N, T-1)
        helper.make_node("Concat", ["prev_first", "loud_head"], ["prev"], axis=1),  # (N, T)
        const("one", 1.0),
        helper.make_node("Sub", ["one", "prev"], ["quiet_before"]),
        helper.make_node("Mul", ["loud", "quiet_before"], ["onset"]),  # (N, T)
        const("shape_groups", [0, -1, 4], TensorProto.INT64, [3]),
        helper.make_node("Reshape", ["onset", "shape_groups"], ["groups"]),  # (N, T/4, 4)
        helper.make_node("ReduceMax", ["groups"], ["encoder_out"], axes=[2], keepdims=1),  # (N, T/4, 1)
        const("s_last", [-1], TensorProto.INT64, [1]),
        const("e_last", [2**31 - 1], TensorProto.INT64, [1]),
        helper.make_node("Slice", ["loud", "s_last", "e_last", "ax1"], ["last_loud"]),  # (N, 1)
        const("shape_state", [1, -1, 1], TensorProto.INT64, [3]),
        helper.make_node("Reshape", ["last_loud", "shape_state"], ["next_h"]),
        helper.make_node("Identity", ["c"], ["next_c"]),
    ],
    "encoder",
    [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", T, 80]),
        helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, "N", 1]),
        helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, "N", 1]),
    ],
    [
        helper.make_tensor_value_info("encoder_out", TensorProto.FLOAT, ["N", T // 4, 1]),
        helper.make_tensor_value_info("next_h", TensorProto.FLOAT, [1, "N", 1]),
        helper.make_tensor_value_info("next_c", TensorProto.FLOAT, [1, "N", 1]),
    ],
)
save(encoder, "encoder.onnx", {"model_type": "lstm", "num_encoder_layers": 1, "T": T, "decode_chunk_len": T, "rnn_hidden_size": 1, "d_model": 1})

# Decoder: y (N, 2) int64 -> decoder_out (N, 1) = the last token id.
decoder = helper.make_graph(
    [
        const("s1", [1], TensorProto.INT64, [1]),
        const("e2", [2], TensorProto.INT64, [1]),
        const("ax1", [1], TensorProto.INT64, [1]),
        helper.make_node("Slice", ["y", "s1", "e2", "ax1"], ["last"]),
        helper.make_node("Cast", ["last"], ["decoder_out"], to=TensorProto.FLOAT),
    ],
    "decoder",
    [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 2])],
    [helper.make_tensor_value_info("decoder_out", TensorProto.FLOAT, ["N", 1])],
)
save(decoder, "decoder.onnx", {"vocab_size": 3, "context_size": 2})

# Joiner: logits over <blk>, BONJOUR, MADAME: blank 0.5; on an onset, BONJOUR unless the last word
# was BONJOUR (then MADAME). d*(2-d) is 1 for d = 1 and 0 for d = 0 or 2.
joiner = helper.make_graph(
    [
        const("two", 2.0),
        const("one", 1.0),
        const("half", [0.5], TensorProto.FLOAT, [1, 1]),
        helper.make_node("Sub", ["two", "decoder_out"], ["two_minus_d"]),
        helper.make_node("Mul", ["decoder_out", "two_minus_d"], ["was_first"]),  # (N, 1)
        helper.make_node("Sub", ["one", "was_first"], ["was_not_first"]),
        helper.make_node("Mul", ["encoder_out", "was_not_first"], ["first_score"]),
        helper.make_node("Mul", ["encoder_out", "was_first"], ["second_score"]),
        helper.make_node("Mul", ["encoder_out", "half"], ["zero_like"]),
        helper.make_node("Sub", ["zero_like", "zero_like"], ["zeros"]),
        helper.make_node("Add", ["zeros", "half"], ["blank_score"]),
        helper.make_node("Concat", ["blank_score", "first_score", "second_score"], ["logit"], axis=1),
    ],
    "joiner",
    [
        helper.make_tensor_value_info("encoder_out", TensorProto.FLOAT, ["N", 1]),
        helper.make_tensor_value_info("decoder_out", TensorProto.FLOAT, ["N", 1]),
    ],
    [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 3])],
)
save(joiner, "joiner.onnx", {})

(HERE / "tokens.txt").write_text("<blk> 0\n▁BONJOUR 1\n▁MADAME 2\n", encoding="utf-8")
