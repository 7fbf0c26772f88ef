print("ncf-bench: under construction")
