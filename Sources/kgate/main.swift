print("kgate")
