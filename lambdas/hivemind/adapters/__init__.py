"""The only layer that talks to AWS (boto3), Git (GitPython) or hosts (paramiko).

Logic receives these adapters as ports (see ``hivemind.logic.ports``); tests pass fakes or run
them against moto.
"""
