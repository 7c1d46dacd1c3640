using Stateless.Graph;

namespace NA64.SlowControl.Controllers;

/// <summary>
/// Stateless has no description parameter for async internal transitions with a guard or for guarded dynamic
/// transitions, and prints "Function" there. This style writes what those guards and decisions mean: decisions are
/// "state as read back", an unnamed guard is named by the controller from its source state and trigger.
/// </summary>
/// <param name="unnamedGuard">What the unnamed guard of a transition (source state, trigger) checks.</param>
internal sealed class ReadableGraphStyle(Func<string, string, string> unnamedGuard) : UmlDotGraphStyle
{
    private const string Unnamed = "Function";

    public override string FormatOneDecisionNode(string nodeName, string label) =>
        base.FormatOneDecisionNode(nodeName, label == Unnamed ? "state as read back" : label);

    public override string FormatOneTransition(string sourceNodeName, string trigger, IEnumerable<string> actions,
        string destinationNodeName, IEnumerable<string> guards) =>
        base.FormatOneTransition(sourceNodeName, trigger, actions, destinationNodeName,
            guards.Select(g => g != Unnamed ? g : unnamedGuard(sourceNodeName, trigger)).ToList());
}
