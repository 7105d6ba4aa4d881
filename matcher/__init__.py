"""The matching engine: pure Python + NumPy/SciPy/scikit-learn, no web or database imports."""
