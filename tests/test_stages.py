from pathlib import Path

from advisor.cli.stages import StageState, hash_inputs


def test_stage_fresh_until_inputs_or_outputs_change(tmp_path: Path):
    src = tmp_path / "in.txt"
    src.write_text("a")
    out = tmp_path / "out"
    out.mkdir()
    result = out / "result.txt"
    result.write_text("r1")
    st = StageState(out)
    h = hash_inputs(src, {"epochs": 2})
    assert not st.fresh("train", h)
    st.done("train", h, [result])
    assert StageState(out).fresh("train", h)  # persisted
    assert not st.fresh("train", hash_inputs(src, {"epochs": 3}))  # option changed
    result.write_text("edited")
    assert not st.fresh("train", h)  # output edited
    result.write_text("r1")
    src.write_text("b")
    assert not st.fresh("train", hash_inputs(src, {"epochs": 2}))  # input changed


def test_corrupt_state_file_is_ignored(tmp_path: Path):
    (tmp_path / "stages.json").write_text("{not json")
    assert StageState(tmp_path).state == {}
