import pytest

from advisor.kernel.config import find_config, load_config
from advisor.kernel.errors import AdviseError


def test_unknown_setting_names_file_field_and_suggests(tmp_path):
    cfg = tmp_path / "advise.toml"
    cfg.write_text("[traffic]\nsample_rat = 0.5\n")
    with pytest.raises(AdviseError) as exc:
        load_config(cfg)
    e = exc.value
    assert e.file == str(cfg) and e.field == "traffic.sample_rat" and "did you mean 'sample_rate'" in e.message


def test_invalid_toml_and_bad_value(tmp_path):
    cfg = tmp_path / "advise.toml"
    cfg.write_text("[traffic\n")
    with pytest.raises(AdviseError, match="invalid TOML"):
        load_config(cfg)
    cfg.write_text("[traffic]\nsample_rate = 2\n")
    with pytest.raises(AdviseError) as exc:
        load_config(cfg)
    assert exc.value.field == "traffic.sample_rate"


def test_config_beside_logs_is_found_and_paths_resolve_relative_to_it(tmp_path):
    (tmp_path / "advise.toml").write_text('[traffic]\nsample_rate = 0.25\n[failures]\nschema = "s.json"\n')
    logs = tmp_path / "logs.jsonl"
    logs.write_text("")
    cfg = load_config(find_config([logs]))
    assert cfg.traffic.sample_rate == 0.25
    assert cfg.resolve(cfg.failures["schema"]) == tmp_path / "s.json"
    assert load_config(None).traffic.sample_rate == 1.0
