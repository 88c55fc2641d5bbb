"""The guide's examples that need no LLM: §1.4, §1.5, §1.6, §2.2, §3.1, as written there.

Serve them with ``python worker.py examples.guide_basics`` or run them through ``examples.demo``.
"""

import logging

from refinire import ConditionStep, Flow, FunctionStep

logger = logging.getLogger(__name__)


# §1.4 Basic Conditional Branching --------------------------------------------------------
def check_age_category(ctx):
    """Check age category"""
    age = ctx.shared_state.get("age", 0)
    return age >= 18  # True if 18 or older, False if younger

def set_age(data, ctx):
    """Set age"""
    ctx.shared_state["age"] = int(data)
    return f"Set age to {data}"

def adult_response(data, ctx):
    """Adult response"""
    return "You can access adult services"

def minor_response(data, ctx):
    """Minor response"""
    return "Please use services for minors"

# Conditional branching Flow
condition_flow = Flow({
    "set_age": FunctionStep("set_age", set_age),
    "age_check": ConditionStep("age_check", check_age_category, "adult", "minor"),
    "adult": FunctionStep("adult", adult_response),
    "minor": FunctionStep("minor", minor_response)
})

async def run_condition_example():
    # Adult case
    result1 = await condition_flow.run("25")
    print(f"25-year-old result: {result1}")

    # Minor case
    result2 = await condition_flow.run("15")
    print(f"15-year-old result: {result2}")


# §1.5 Practice exercise ------------------------------------------------------------------
def is_number(ctx):
    """Determine if input is a number"""
    try:
        int(ctx.result)
        return True
    except ValueError:
        return False

def check_even_odd(data, ctx):
    """Check if even or odd"""
    num = int(data)
    if num % 2 == 0:
        return f"{num} is even"
    else:
        return f"{num} is odd"

def error_response(data, ctx):
    """Error response"""
    return f"'{data}' is not a valid number"

# Practice Flow (solution example)
practice_flow = Flow({
    "validate": ConditionStep("validate", is_number, "process", "error"),
    "process": FunctionStep("process", check_even_odd),
    "error": FunctionStep("error", error_response)
})


# §1.6 Flow Visualization -------------------------------------------------------------------
def analyze_input(ctx):
    return f"Analyzed: {ctx.result}"

def is_complex(ctx):
    return len(str(ctx.result)) > 10

# Create a flow for demonstration
demo_flow = Flow(start="analyze", steps={
    "analyze": FunctionStep("analyze", analyze_input, next_step="check"),
    "check": ConditionStep("check", is_complex, "complex_process", "simple_process"),
    "complex_process": FunctionStep("complex_process", lambda ctx: "Complex processing complete"),
    "simple_process": FunctionStep("simple_process", lambda ctx: "Simple processing complete")
})


# §2.2 Parallel Processing ------------------------------------------------------------------
def analyze_sentiment(data, ctx):
    """Sentiment analysis (mock)"""
    import time
    time.sleep(1)  # Simulate processing time
    return f"Sentiment: Positive (Input: {data[:20]}...)"

def extract_keywords(data, ctx):
    """Keyword extraction (mock)"""
    import time
    time.sleep(1)  # Simulate processing time
    return f"Keywords: Python, AI, Machine Learning (Input: {data[:20]}...)"

def classify_category(data, ctx):
    """Category classification (mock)"""
    import time
    time.sleep(1)  # Simulate processing time
    return f"Category: Technology (Input: {data[:20]}...)"

def combine_analysis_results(data, ctx):
    """Combine analysis results"""
    # Parallel execution results are stored in ctx.shared_state
    return {
        "combined_result": "Multiple analyses completed",
        "execution_time": "About 1 second (parallel execution)"
    }

# Parallel processing Flow
parallel_flow = Flow(start="preprocess", steps={
    "preprocess": FunctionStep("preprocess", lambda data, ctx: data),
    "parallel_analysis": {
        "parallel": [
            FunctionStep("sentiment", analyze_sentiment),
            FunctionStep("keywords", extract_keywords),
            FunctionStep("category", classify_category)
        ],
        "next_step": "combine",
        "max_workers": 3
    },
    "combine": FunctionStep("combine", combine_analysis_results)
})

async def run_parallel_example():
    import time
    start_time = time.time()

    result = await parallel_flow.run("Python is a programming language suitable for machine learning and AI development")

    end_time = time.time()
    print(f"Execution time: {end_time - start_time:.2f} seconds")
    print(f"Result: {result}")
