"""git-nbcollab: git-native collaboration on Jupyter notebooks."""

__version__ = "0.1.0"
