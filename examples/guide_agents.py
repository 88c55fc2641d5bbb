"""The guide's agent examples (§1.1, §1.2, §1.3, §2.1, §2.3, §2.4, §3.2, §3.3, §3.4), as written there.

Only imports were added, plus three mechanical changes a module needs: §1.1's top-level
``await flow.run(user_input)`` is wrapped in ``run_flow_approach(user_input)``, the guide's
module-level ``asyncio.run(...)`` calls moved under ``if __name__ == "__main__"``, and §3.3's
``logger`` is defined. The LangGraph half of §1.1 is the guide's counter-example and is left out.

Run with a model: ``OPENAI_API_KEY=... python -m examples.guide_agents`` (or ``OPENAI_BASE_URL``
pointing at any OpenAI-compatible server). Serve: ``python worker.py examples.guide_agents``.
"""

import asyncio
import logging
import random
import time
from datetime import datetime
from enum import Enum

from refinire import (
    ClarifyAgent,
    ConditionStep,
    Context,
    Flow,
    FunctionStep,
    RefinireAgent,
    RouterAgent,
    enable_console_tracing,
    get_global_registry,
)

logger = logging.getLogger(__name__)


# §1.1 What is a Flow? (the Refinire Flow approach) --------------------------------------------
# Refinire Flow approach (declarative)

analyzer = RefinireAgent(
    name="analyzer",
    generation_instructions="Analyze the input in detail",
    model="gpt-4o-mini"
)

advisor = RefinireAgent(
    name="advisor", 
    generation_instructions="Provide specific advice based on the analysis results",
    model="gpt-4o-mini"
)

encourager = RefinireAgent(
    name="encourager",
    generation_instructions="Create an encouraging message based on the analysis and advice",
    model="gpt-4o-mini"
)

flow = Flow({
    "analyze": analyzer,
    "advise": advisor, 
    "encourage": encourager
})

async def run_flow_approach(user_input):
    result = await flow.run(user_input)
    return result


# §1.2 Building Basic Flows --------------------------------------------------------------------

# Flow with multiple RefinireAgents executing sequentially
first_agent = RefinireAgent(
    name="greeter",
    generation_instructions="Greet the user in a friendly manner",
    model="gpt-4o-mini"
)

second_agent = RefinireAgent(
    name="analyzer", 
    generation_instructions="Based on the previous response, provide suitable advice for that user",
    model="gpt-4o-mini"
)

# Basic Flow definition
simple_flow = Flow({
    "greet": first_agent,
    "advice": second_agent
})

# Flow execution
async def run_simple_example():
    result = await simple_flow.run("Alice")
    print(f"Final result: {result}")

# Execute


# §1.3 Three-Stage RefinireAgent Collaboration -------------------------------------------------
# Stage 1: User information analysis
analyzer_agent = RefinireAgent(
    name="analyzer",
    generation_instructions="Analyze personality and characteristics from the user's name. Keep your response concise.",
    model="gpt-4o-mini"
)

# Stage 2: Recommendation suggestions
recommender_agent = RefinireAgent(
    name="recommender",
    generation_instructions="Based on the analysis results, suggest recommended activities or hobbies for this user.",
    model="gpt-4o-mini"
)

# Stage 3: Encouraging message
encourager_agent = RefinireAgent(
    name="encourager",
    generation_instructions="Create a warm, encouraging message based on the analysis and recommendations provided.",
    model="gpt-4o-mini"
)

# Three-stage collaboration Flow
three_step_flow = Flow({
    "analyze": analyzer_agent,
    "recommend": recommender_agent,
    "encourage": encourager_agent
})

async def run_three_step_example():
    result = await three_step_flow.run("Sakura")
    print(f"Final encouraging message: {result}")

# Execute


# §2.1 Integrating RefinireAgent with Flows ----------------------------------------------------

# Simple RefinireAgent
simple_agent = RefinireAgent(
    name="assistant",
    generation_instructions="Answer user questions helpfully",
    model="gpt-4o-mini"
)

# Integrate Agent into Flow
agent_flow = Flow({
    "preprocess": FunctionStep("preprocess", lambda data, ctx: f"Question: {data}"),
    "ai_response": simple_agent,
    "postprocess": FunctionStep("postprocess", lambda data, ctx: f"Answer: {data}")
})

async def run_agent_example():
    result = await agent_flow.run("What are the features of Python?")
    print(result)

# Agent with evaluation functionality
quality_agent = RefinireAgent(
    name="quality_assistant",
    generation_instructions="Generate high-quality, detailed responses",
    evaluation_instructions="Evaluate response quality from 0-100. Focus on comprehensiveness, accuracy, and clarity",
    threshold=80.0,
    max_retries=2,
    model="gpt-4o-mini"
)

def check_quality_score(ctx):
    """Branch based on quality score"""
    if hasattr(ctx, 'evaluation_result') and ctx.evaluation_result:
        return ctx.evaluation_result.get('score', 0) >= 85
    return False

def high_quality_response(data, ctx):
    """High quality response processing"""
    score = ctx.evaluation_result.get('score', 0)
    return f"High quality response (Score: {score})\nResponse: {data}"

def standard_response(data, ctx):
    """Standard response processing"""
    score = ctx.evaluation_result.get('score', 0) if ctx.evaluation_result else 0
    return f"Standard response (Score: {score})\nResponse: {data}"

# Flow with quality check
quality_flow = Flow({
    "generate": quality_agent,
    "quality_check": ConditionStep("quality_check", check_quality_score, "high_quality", "standard"),
    "high_quality": FunctionStep("high_quality", high_quality_response),
    "standard": FunctionStep("standard", standard_response)
})


# §2.3 RouterAgent Integration -----------------------------------------------------------------

# RouterAgent configuration
router_config = {
    "name": "content_router",
    "routes": {
        "technical": "tech_specialist",
        "business": "business_specialist",
        "general": "general_assistant"
    },
    "classifier_type": "llm",
    "generation_instructions": """
    Classify into one of the following categories:
    - technical: Programming, technology, engineering related
    - business: Business, management, marketing related
    - general: Other general questions
    
    Return only the category name.
    """
}

router = RouterAgent(router_config)

# Define specialist agents
tech_specialist = RefinireAgent(
    name="tech_specialist",
    generation_instructions="Use technical expertise to provide detailed responses",
    model="gpt-4o-mini"
)

business_specialist = RefinireAgent(
    name="business_specialist", 
    generation_instructions="Provide practical business advice from a business perspective",
    model="gpt-4o-mini"
)

general_assistant = RefinireAgent(
    name="general_assistant",
    generation_instructions="Respond clearly and helpfully",
    model="gpt-4o-mini"
)

# RouterAgent integration Flow
router_flow = Flow({
    "preprocess": FunctionStep("preprocess", lambda data, ctx: data),
    "route": router,
    "tech_specialist": tech_specialist,
    "business_specialist": business_specialist,
    "general_assistant": general_assistant,
    "postprocess": FunctionStep("postprocess", lambda data, ctx: f"Expert response: {data}")
})

async def run_router_example():
    # Technical question
    tech_result = await router_flow.run("Tell me about multithreading in Python")
    print(f"Technical question result: {tech_result}")
    
    # Business question
    business_result = await router_flow.run("How to start a new business")
    print(f"Business question result: {business_result}")


# §2.4 ClarifyAgent Integration ----------------------------------------------------------------

# ClarifyAgent configuration
clarify_agent = ClarifyAgent(
    name="requirement_clarifier",
    generation_instructions="Generate questions to clarify user requirements",
    clarification_instructions="Determine if requirements are sufficiently clear",
    threshold=80.0,
    model="gpt-4o-mini"
)

def is_clarification_needed(ctx):
    """Determine if clarification is needed"""
    # Check ClarifyAgent result
    if hasattr(ctx, 'clarification_result'):
        return not ctx.clarification_result.get('is_clear', False)
    return False

def process_clear_request(data, ctx):
    """Process clear request"""
    return f"Request is clear. Starting processing: {data}"

def request_clarification(data, ctx):
    """Request clarification"""
    clarification = ctx.clarification_result.get('clarification_question', '')
    return f"Please provide more details: {clarification}"

# ClarifyAgent integration Flow
clarify_flow = Flow({
    "clarify": clarify_agent,
    "check_clarity": ConditionStep("check_clarity", is_clarification_needed, "request_more", "process"),
    "request_more": FunctionStep("request_more", request_clarification),
    "process": FunctionStep("process", process_clear_request)
})

async def run_clarify_example():
    # Vague request
    vague_result = await clarify_flow.run("Create something nice")
    print(f"Vague request result: {vague_result}")
    
    # Clear request
    clear_result = await clarify_flow.run("Create a customer management system in Python with registration, search, update, and delete functionality")
    print(f"Clear request result: {clear_result}")


# §3.2 Dynamic Flow Generation and Metaprogramming ---------------------------------------------
def create_multi_agent_analysis_flow(agents_config, analysis_type="comprehensive"):
    """Dynamically generate multi-agent analysis Flow"""
    
    # Basic steps
    steps = {
        "preprocess": FunctionStep("preprocess", lambda data, ctx: data)
    }
    
    # Create agents dynamically
    agent_steps = []
    for i, config in enumerate(agents_config):
        agent = RefinireAgent(
            name=f"agent_{i}",
            generation_instructions=config["instructions"],
            model=config.get("model", "gpt-4o-mini")
        )
        agent_steps.append(agent)
    
    # Add parallel processing step
    steps["parallel_analysis"] = {
        "parallel": agent_steps,
        "next_step": "synthesize",
        "max_workers": min(len(agent_steps), 4)
    }
    
    # Integration step
    if analysis_type == "comprehensive":
        synthesizer = RefinireAgent(
            name="synthesizer",
            generation_instructions="""
            Integrate the analysis results from multiple agents and derive comprehensive conclusions.
            Consider each agent's perspective and provide a consistent final analysis.
            """,
            model="gpt-4o-mini"
        )
    else:
        synthesizer = FunctionStep("simple_combine", lambda data, ctx: f"Analysis complete: {data}")
    
    steps["synthesize"] = synthesizer
    
    return Flow(start="preprocess", steps=steps)

# Dynamic Flow generation example
async def run_dynamic_flow_example():
    # Multiple specialist agent configurations
    agents_config = [
        {
            "instructions": "Analyze from a technical perspective",
            "model": "gpt-4o-mini"
        },
        {
            "instructions": "Analyze from a business perspective", 
            "model": "gpt-4o-mini"
        },
        {
            "instructions": "Analyze from a usability perspective",
            "model": "gpt-4o-mini"
        },
        {
            "instructions": "Analyze from a security perspective",
            "model": "gpt-4o-mini"
        }
    ]
    
    # Generate Flow dynamically
    dynamic_flow = create_multi_agent_analysis_flow(agents_config, "comprehensive")
    
    # Execute
    result = await dynamic_flow.run("Analyze a new web application development project")
    print(f"Dynamic Flow result: {result}")


# §3.3 Production Monitoring and Tracing -------------------------------------------------------

# Enable tracing
enable_console_tracing()

class ProductionFlowMonitor:
    """Production Flow monitoring class"""
    
    def __init__(self):
        self.metrics = {
            "total_executions": 0,
            "successful_executions": 0,
            "failed_executions": 0,
            "average_duration": 0,
            "error_patterns": {}
        }
    
    def log_execution_start(self, flow_name, input_data):
        """Log execution start"""
        timestamp = datetime.now().isoformat()
        logger.info(f"[{timestamp}] Flow '{flow_name}' started - Input: {str(input_data)[:100]}...")
        return time.time()
    
    def log_execution_end(self, flow_name, start_time, success, result=None, error=None):
        """Log execution end"""
        duration = time.time() - start_time
        timestamp = datetime.now().isoformat()
        
        self.metrics["total_executions"] += 1
        
        if success:
            self.metrics["successful_executions"] += 1
            logger.info(f"[{timestamp}] Flow '{flow_name}' succeeded - Duration: {duration:.2f}s")
        else:
            self.metrics["failed_executions"] += 1
            error_type = type(error).__name__ if error else "Unknown"
            self.metrics["error_patterns"][error_type] = self.metrics["error_patterns"].get(error_type, 0) + 1
            logger.error(f"[{timestamp}] Flow '{flow_name}' failed - Error: {error}")
        
        # Update average execution time
        self.metrics["average_duration"] = (
            (self.metrics["average_duration"] * (self.metrics["total_executions"] - 1) + duration) 
            / self.metrics["total_executions"]
        )
    
    def get_health_status(self):
        """Get health status"""
        total = self.metrics["total_executions"]
        if total == 0:
            return {"status": "no_data", "message": "No execution data"}
        
        success_rate = (self.metrics["successful_executions"] / total) * 100
        
        if success_rate >= 95:
            status = "healthy"
        elif success_rate >= 85:
            status = "warning"
        else:
            status = "critical"
        
        return {
            "status": status,
            "success_rate": f"{success_rate:.2f}%",
            "average_duration": f"{self.metrics['average_duration']:.2f}s",
            "total_executions": total,
            "error_patterns": self.metrics["error_patterns"]
        }

# Monitored Flow execution function
monitor = ProductionFlowMonitor()

async def run_monitored_flow(flow, input_data, flow_name):
    """Execute Flow with monitoring"""
    start_time = monitor.log_execution_start(flow_name, input_data)
    
    try:
        result = await flow.run(input_data)
        monitor.log_execution_end(flow_name, start_time, True, result)
        return result
    except Exception as error:
        monitor.log_execution_end(flow_name, start_time, False, error=error)
        raise

# Production-ready Flow example
production_flow = Flow({
    "validate_input": FunctionStep("validate", lambda data, ctx: data.strip() if data else ""),
    "process": RefinireAgent(
        name="production_agent",
        generation_instructions="Generate safe, high-quality responses in production environment",
        evaluation_instructions="Evaluate response safety and quality",
        threshold=85.0,
        model="gpt-4o-mini"
    ),
    "postprocess": FunctionStep("postprocess", lambda data, ctx: f"[Production Response] {data}")
})

async def run_production_example():
    # Simulate multiple executions
    test_inputs = [
        "Normal input data",
        "Another normal input",
        "",  # Empty input (may cause error)
        "Another normal input"
    ]
    
    for i, input_data in enumerate(test_inputs):
        try:
            result = await run_monitored_flow(production_flow, input_data, "production_flow")
            print(f"Execution {i+1}: Success - {result[:50]}...")
        except Exception as e:
            print(f"Execution {i+1}: Failed - {e}")
    
    # Display health status
    health_status = monitor.get_health_status()
    print(f"\n=== Flow Health Status ===")
    print(f"Status: {health_status['status']}")
    print(f"Success Rate: {health_status['success_rate']}")
    print(f"Average Duration: {health_status['average_duration']}")
    print(f"Total Executions: {health_status['total_executions']}")
    if health_status['error_patterns']:
        print(f"Error Patterns: {health_status['error_patterns']}")


# §3.4 A/B Testing and Experimental Flows ------------------------------------------------------

class FlowVariant(Enum):
    """Flow variants"""
    CONTROL = "control"
    EXPERIMENTAL = "experimental"

class ABTestingManager:
    """A/B testing management class"""
    
    def __init__(self, experiment_name, traffic_split=0.5):
        self.experiment_name = experiment_name
        self.traffic_split = traffic_split
        self.results = {
            FlowVariant.CONTROL: {"success": 0, "total": 0, "avg_score": 0},
            FlowVariant.EXPERIMENTAL: {"success": 0, "total": 0, "avg_score": 0}
        }
    
    def assign_variant(self, user_id=None):
        """Assign variant to user"""
        if user_id:
            # Consistent assignment based on user ID
            hash_value = hash(f"{user_id}_{self.experiment_name}") % 100
            return FlowVariant.EXPERIMENTAL if hash_value < (self.traffic_split * 100) else FlowVariant.CONTROL
        else:
            # Random assignment
            return FlowVariant.EXPERIMENTAL if random.random() < self.traffic_split else FlowVariant.CONTROL
    
    def record_result(self, variant, success, score=None):
        """Record result"""
        self.results[variant]["total"] += 1
        if success:
            self.results[variant]["success"] += 1
        if score is not None:
            current_avg = self.results[variant]["avg_score"]
            total = self.results[variant]["total"]
            self.results[variant]["avg_score"] = ((current_avg * (total - 1)) + score) / total
    
    def get_statistics(self):
        """Get statistics"""
        stats = {}
        for variant in FlowVariant:
            data = self.results[variant]
            total = data["total"]
            if total > 0:
                success_rate = (data["success"] / total) * 100
                stats[variant.value] = {
                    "success_rate": f"{success_rate:.2f}%",
                    "avg_score": f"{data['avg_score']:.2f}",
                    "sample_size": total
                }
            else:
                stats[variant.value] = {"success_rate": "N/A", "avg_score": "N/A", "sample_size": 0}
        return stats

# A/B test target Flows
def create_control_flow():
    """Control version Flow (traditional method)"""
    return Flow({
        "process": RefinireAgent(
            name="control_agent",
            generation_instructions="Provide concise, direct responses",
            model="gpt-4o-mini"
        )
    })

def create_experimental_flow():
    """Experimental version Flow (new method)"""
    return Flow({
        "analyze": RefinireAgent(
            name="analyzer",
            generation_instructions="First analyze the input in detail",
            model="gpt-4o-mini"
        ),
        "respond": RefinireAgent(
            name="responder",
            generation_instructions="Generate comprehensive and useful responses based on analysis results",
            evaluation_instructions="Evaluate response usefulness and comprehensiveness from 0-100",
            threshold=80.0,
            model="gpt-4o-mini"
        )
    })

# A/B test execution
ab_test = ABTestingManager("response_quality_experiment", traffic_split=0.5)
control_flow = create_control_flow()
experimental_flow = create_experimental_flow()

async def run_ab_test_example():
    test_queries = [
        "What are the best practices for error handling in Python?",
        "Tell me about machine learning model evaluation methods",
        "What are the security measures for web applications?",
        "What are the basic principles of database design?",
        "What are important considerations in API design?"
    ]
    
    for i, query in enumerate(test_queries):
        user_id = f"user_{i % 3}"  # Simulate 3 users
        variant = ab_test.assign_variant(user_id)
        
        try:
            if variant == FlowVariant.CONTROL:
                result = await control_flow.run(query)
                success = len(result) > 50  # Simple success criteria
                score = len(result) / 10  # Simple scoring
            else:
                ctx = Context()
                result = await experimental_flow.run(query, ctx)
                success = len(result) > 50
                # Use evaluation score for experimental version
                score = ctx.evaluation_result.get('score', 50) if hasattr(ctx, 'evaluation_result') and ctx.evaluation_result else 50
            
            ab_test.record_result(variant, success, score)
            print(f"Query {i+1} ({variant.value}): {'Success' if success else 'Failed'} (Score: {score:.1f})")
            
        except Exception as e:
            ab_test.record_result(variant, False)
            print(f"Query {i+1} ({variant.value}): Error - {e}")
    
    # Display results
    stats = ab_test.get_statistics()
    print(f"\n=== A/B Test Results ===")
    print(f"Control: Success Rate {stats['control']['success_rate']}, Avg Score {stats['control']['avg_score']}, Sample Size {stats['control']['sample_size']}")
    print(f"Experimental: Success Rate {stats['experimental']['success_rate']}, Avg Score {stats['experimental']['avg_score']}, Sample Size {stats['experimental']['sample_size']}")


if __name__ == "__main__":
    asyncio.run(run_simple_example())
    asyncio.run(run_three_step_example())
    asyncio.run(run_agent_example())
    asyncio.run(run_router_example())
    asyncio.run(run_clarify_example())
