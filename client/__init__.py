"""The client side: connecting (embedded server or configured cluster), running and operating flows."""
