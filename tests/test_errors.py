"""cnnspec.errors: a usage error names its argument; the command layer renames it to its option."""
import pickle

import pytest

from cnnspec.errors import UsageError, argument_names


def test_the_argument_leads_the_message_and_survives_pickling():
    e = UsageError("'lenet9' is not a known architecture", argument="spec_name")
    assert str(e) == "spec_name: 'lenet9' is not a known architecture" and e.exit_code == 2
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and back.argument == "spec_name"


def test_argument_names_renames_only_the_arguments_it_is_given():
    with pytest.raises(UsageError, match=r"^--spec: bad$"):
        with argument_names(spec_name="--spec"):
            raise UsageError("bad", argument="spec_name")
    with pytest.raises(UsageError, match=r"^device: bad$"):
        with argument_names(spec_name="--spec"):
            raise UsageError("bad", argument="device")
    with pytest.raises(UsageError, match=r"^plain message$"):
        with argument_names(spec_name="--spec"):
            raise UsageError("plain message")
