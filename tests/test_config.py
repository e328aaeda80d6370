"""Configuration as operators write it: a ``.env`` file as python-dotenv reads it, secrets
from files (``<NAME>_FILE``), several keys for rotation; every refusal names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bol.credentials import SecretBox, SecretError, new_key
from bot.config import ConfigError, load_config


def from_dotenv(tmp_path: Path, text: str, **env: str) -> dict[str, object]:
    dotenv = tmp_path / ".env"
    dotenv.write_text(text, encoding="utf-8")
    config = load_config(env={"NORMWACHT_DB": str(tmp_path / "db.sqlite3"), **env}, dotenv=dotenv)
    return {
        "telegram": config.telegram_token,
        "quiet": config.quiet_hours,
        "slack": config.slack_bot_token,
        "signing": config.slack_signing_secret,
        "admins": config.admins,
    }


def test_dotenv_reads_export_comments_quotes_and_escapes(tmp_path: Path) -> None:
    read = from_dotenv(
        tmp_path,
        "# Normwacht\n"
        "export TELEGRAM_BOT_TOKEN=42:abc\n"
        "NORMWACHT_QUIET_HOURS=21:00-08:00   # night\n"
        "SLACK_BOT_TOKEN='xoxb-quoted # not a comment'\n"
        'SLACK_SIGNING_SECRET="line\\nbreak"\n'
        'NORMWACHT_ADMINS="telegram:1,\n  slack:U2"\n',
    )
    assert read["telegram"] == "42:abc"
    assert str(read["quiet"]) == "QuietHours(start=datetime.time(21, 0), end=datetime.time(8, 0))"
    assert read["slack"] == "xoxb-quoted # not a comment"
    assert read["signing"] == "line\nbreak"
    assert read["admins"] == frozenset({"telegram:1", "slack:U2"})


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    read = from_dotenv(tmp_path, "TELEGRAM_BOT_TOKEN=from-file\n", TELEGRAM_BOT_TOKEN="from-env")
    assert read["telegram"] == "from-env"


def test_a_dotenv_line_that_is_no_setting_is_named_by_line_without_its_text(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        from_dotenv(tmp_path, "NORMWACHT_LANGUAGE=nl\nTELEGRAM BOT TOKEN=42:secret-token\n")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / '.env'}, line 2: not a setting")
    assert "secret-token" not in message


def test_a_bad_value_in_dotenv_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^NORMWACHT_QUIET_HOURS: must look like"):
        from_dotenv(tmp_path, "NORMWACHT_QUIET_HOURS=tonight  # sleep\n")


SECRETS = {
    "TELEGRAM_BOT_TOKEN": "telegram_token",
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_APP_TOKEN": "slack_app_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_secret_may_come_from_a_file(tmp_path: Path, name: str) -> None:
    secret = tmp_path / "credential"
    secret.write_text("xoxb-from-a-file\n", encoding="utf-8")
    env = {"NORMWACHT_DB": str(tmp_path / "db.sqlite3"), f"{name}_FILE": str(secret)}
    if name.startswith("SLACK_") and name != "SLACK_APP_TOKEN":
        env["SLACK_APP_TOKEN"] = "xapp-set"
    config = load_config(env=env, dotenv=None)
    assert getattr(config, SECRETS[name]) == "xoxb-from-a-file"


def test_the_secret_key_and_the_database_url_from_files(tmp_path: Path) -> None:
    key, url = tmp_path / "key", tmp_path / "db"
    key.write_text(new_key() + "\n", encoding="utf-8")
    url.write_text("postgresql://normwacht:pw@db.example/normwacht\n", encoding="utf-8")
    config = load_config(
        env={"NORMWACHT_SECRET_KEY_FILE": str(key), "NORMWACHT_DB_FILE": str(url)}, dotenv=None
    )
    assert config.secret_key == key.read_text().strip().encode()
    assert config.database == "postgresql://normwacht:pw@db.example/normwacht"


def test_a_secret_and_its_file_both_set_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("42:file", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(
            env={"TELEGRAM_BOT_TOKEN": "42:env", "TELEGRAM_BOT_TOKEN_FILE": str(secret)},
            dotenv=None,
        )
    assert str(caught.value) == (
        "TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are both set: keep one of them"
    )


def test_a_missing_or_empty_secret_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=f"^SLACK_BOT_TOKEN_FILE: cannot read {missing}: "):
        load_config(env={"SLACK_BOT_TOKEN_FILE": str(missing)}, dotenv=None)
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^NORMWACHT_SECRET_KEY_FILE: {empty} is empty$"):
        load_config(env={"NORMWACHT_SECRET_KEY_FILE": str(empty)}, dotenv=None)


def test_a_file_named_in_dotenv_is_read_too(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("42:via-dotenv", encoding="utf-8")
    read = from_dotenv(tmp_path, f"TELEGRAM_BOT_TOKEN_FILE={secret}\n")
    assert read["telegram"] == "42:via-dotenv"


def test_several_keys_seal_with_the_first_and_open_with_any(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    sealed_old = SecretBox(old.encode()).seal("client-secret")
    config = load_config(
        env={"NORMWACHT_SECRET_KEY": f"{new}, {old}", "NORMWACHT_DB": str(tmp_path / "d")},
        dotenv=None,
    )
    assert config.secret_key == f"{new},{old}".encode()
    box = SecretBox(config.secret_key)
    assert box.open(sealed_old) == "client-secret"
    resealed = box.reseal(sealed_old)
    # Under the new key alone it opens; under the old alone it no longer does.
    assert SecretBox(new.encode()).open(resealed) == "client-secret"
    with pytest.raises(SecretError):
        SecretBox(old.encode()).open(resealed)


def test_a_bad_key_in_the_list_is_named_by_its_place(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^NORMWACHT_SECRET_KEY \(key 2 of 2\): must be 32"):
        load_config(env={"NORMWACHT_SECRET_KEY": f"{new_key()},not-a-key"}, dotenv=None)


def test_the_example_dotenv_is_a_dotenv_that_loads_and_names_the_new_settings(
    tmp_path: Path,
) -> None:
    from bot.config import read_dotenv

    example = Path(__file__).resolve().parent.parent / ".env.example"
    names = set(read_dotenv(example))
    for name in (
        "NORMWACHT_HTTP_HOST",
        "NORMWACHT_ADMIN_ADDRESS",
        "NORMWACHT_LOG_LEVEL",
        "NORMWACHT_LOG_FORMAT",
        "NORMWACHT_KEEP_DAYS",
        "TELEGRAM_PAID_BROADCAST",
    ):
        assert name in names
    config = load_config(env={"NORMWACHT_DB": str(tmp_path / "db.sqlite3")}, dotenv=example)
    assert (config.keep_days, config.log_format, config.http_host) == (400, "text", None)


def test_listener_and_log_settings_are_read_and_named_when_wrong(tmp_path: Path) -> None:
    import logging

    config = load_config(
        env={
            "NORMWACHT_HTTP_HOST": "[::1]",
            "NORMWACHT_ADMIN_ADDRESS": "[::1]:9090",
            "NORMWACHT_LOG_LEVEL": "debug",
            "NORMWACHT_LOG_FORMAT": "JSON",
            "NORMWACHT_KEEP_DAYS": "30",
        },
        dotenv=None,
    )
    assert (config.http_host, config.admin_address) == ("::1", ("::1", 9090))
    assert (config.log_level, config.log_format, config.keep_days) == (logging.DEBUG, "json", 30)
    assert load_config(env={"NORMWACHT_ADMIN_ADDRESS": ":9090"}, dotenv=None).admin_address == (
        None,
        9090,
    )
    for name, value, message in (
        ("NORMWACHT_ADMIN_ADDRESS", "9090", "must be HOST:PORT"),
        ("NORMWACHT_ADMIN_ADDRESS", "::1:9090", "must be HOST:PORT"),
        ("NORMWACHT_ADMIN_ADDRESS", "localhost:http", "the port must be a number"),
        ("NORMWACHT_LOG_LEVEL", "loud", "must be one of DEBUG"),
        ("NORMWACHT_LOG_FORMAT", "xml", "must be text or json"),
        ("NORMWACHT_KEEP_DAYS", "0", "must be a whole number of days"),
    ):
        with pytest.raises(ConfigError, match=f"^{name}: {message}"):
            load_config(env={name: value}, dotenv=None)


def test_paid_broadcasts_are_off_unless_switched_on_and_a_typo_is_named(tmp_path: Path) -> None:
    db = {"NORMWACHT_DB": str(tmp_path / "db.sqlite3")}
    assert load_config(env=db, dotenv=None).telegram_paid_broadcast is False
    for value, expected in (("on", True), ("ON", True), ("off", False), (" Off ", False)):
        config = load_config(env={**db, "TELEGRAM_PAID_BROADCAST": value}, dotenv=None)
        assert config.telegram_paid_broadcast is expected
    for value in ("yes", "true", "1", "onn"):
        with pytest.raises(ConfigError, match=r"^TELEGRAM_PAID_BROADCAST: must be on or off"):
            load_config(env={**db, "TELEGRAM_PAID_BROADCAST": value}, dotenv=None)
    example = Path(__file__).resolve().parent.parent / ".env.example"
    assert load_config(env=db, dotenv=example).telegram_paid_broadcast is False
