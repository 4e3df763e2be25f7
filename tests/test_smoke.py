import tie


def test_package_imports():
    assert tie.__version__
