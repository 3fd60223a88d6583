"""Settings of the LLM composer: the composer and model are in the settings hash, the API key never
is (nor in the repr); the key can come from a file; bad values are one-line errors."""

import pytest

from medcite.settings import Composer, Settings, SettingsError, load_settings


def test_composer_and_model_are_hashed_the_key_and_url_are_not():
    base = Settings()
    llm = Settings(composer=Composer.LLM, llm_model="m1")
    assert base.hash() != llm.hash()
    assert llm.hash() != Settings(composer=Composer.LLM, llm_model="m2").hash()
    assert llm.hash() != Settings(composer=Composer.LLM, llm_model="m1", llm_max_tokens=64).hash()
    # the model does not change an extractive answer; where the model runs and its key never change one
    assert base.hash() == Settings(llm_model="m1").hash()
    assert llm.hash() == Settings(composer=Composer.LLM, llm_model="m1", llm_url="http://10.0.0.5:8000/v1",
                                  llm_api_key="s3cret").hash()


def test_key_never_in_repr_and_read_from_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCITE_LLM_API_KEY", "s3cret-from-env")
    s = load_settings()
    assert s.api_key() == "s3cret-from-env" and "s3cret" not in repr(s)
    monkeypatch.delenv("MEDCITE_LLM_API_KEY")
    key = tmp_path / "llm.key"
    key.write_text("s3cret-from-file\n")
    monkeypatch.setenv("MEDCITE_LLM_API_KEY_FILE", str(key))
    assert load_settings().api_key() == "s3cret-from-file"
    monkeypatch.setenv("MEDCITE_LLM_API_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="missing: cannot read the LLM API key"):
        load_settings().api_key()


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("MEDCITE_COMPOSER", "gpt")
    with pytest.raises(SettingsError, match="MEDCITE_COMPOSER"):
        load_settings()
    with pytest.raises(SettingsError, match="MEDCITE_LLM_URL"):
        Settings(llm_url="127.0.0.1:8000")
