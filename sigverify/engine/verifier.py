"""The engine: the one place where trust is decided.

``Verifier.verify_image`` takes an Image, checks every signature with the backend (crypto
first), parses the authenticated claims, and evaluates the policy scope that applies to the
image's reference. It returns an :class:`~sigverify.core.verdict.ImageVerdict` that explains
every decision; :meth:`Verifier.require_trusted` is the raising gate beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sigverify.core.claims import ClaimsError, SignedClaims, parse_claims
from sigverify.core.clock import utcnow
from sigverify.core.policy import (
    IdentityRule,
    InsecureAcceptAnything,
    MatchRepoDigestOrExact,
    Policy,
    Reject,
    Requirement,
    ScopeMatch,
    SignedBy,
    Unsupported,
)
from sigverify.core.reference import DockerReference, ReferenceError, parse_reference
from sigverify.core.verdict import (
    ImageVerdict,
    Reason,
    RequirementResult,
    SignatureRejected,
    SignatureVerdict,
    Signer,
    format_key_id,
)
from sigverify.errors import InputError, UntrustedImage
from sigverify.limits import MAX_SIGNATURE_BLOB_BYTES, MAX_SIGNATURES_PER_IMAGE
from sigverify.objects.types import Image, ImageSignature
from sigverify.openpgp.backend import SignatureBackend, VerifiedMessage
from sigverify.openpgp.keyring import Keyring

__all__ = ["BACKENDS", "SIGNATURE_TYPES", "Verifier", "make_backend"]

#: ImageSignature.type values that carry an atomic container signature: ``AtomicImageV1``
#: from the import controller, ``atomic`` from skopeo/podman via the registry extension.
SIGNATURE_TYPES = frozenset({"AtomicImageV1", "atomic"})
BACKENDS = ("auto", "gnupg", "native")

# How far a failed signature got, to pick the most telling one for the image's reason.
_PROGRESS = {
    Reason.UNSUPPORTED_TYPE: 0,
    Reason.NO_SIGNATURE: 1,
    Reason.MULTIPLE_SIGNATURES: 1,
    Reason.INVALID_SIGNATURE: 1,
    Reason.UNKNOWN_KEY: 2,
    Reason.KEY_EXPIRED: 3,
    Reason.KEY_REVOKED: 3,
    Reason.SIGNATURE_EXPIRED: 3,
    Reason.INVALID_PAYLOAD: 4,
    Reason.REJECTED: 4,
    Reason.UNTRUSTED_KEY: 5,
    Reason.DIGEST_MISMATCH: 6,
    Reason.IDENTITY_MISMATCH: 7,
}


def make_backend(name: str, keyring: Keyring) -> SignatureBackend:
    """Build the named backend over ``keyring``; ``auto`` is the in-process one.

    ``native`` needs only ``cryptography``, a hard dependency, so it is always available.
    """
    if name == "gnupg":
        from sigverify.openpgp.gnupg import GnuPGBackend

        return GnuPGBackend(keyring)
    if name in ("native", "auto"):
        from sigverify.openpgp.native import NativeBackend

        return NativeBackend(keyring)
    raise InputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


_REPO_DIGEST_OR_EXACT = MatchRepoDigestOrExact()
#: Requirements that reject every image (a tuple: ``Reject | Unsupported`` is built anew).
_REFUSING = (Reject, Unsupported)


def _key_list(fingerprints: frozenset[str]) -> str:
    return ", ".join(format_key_id(f[-16:]) for f in sorted(fingerprints)) or "none"


def _who(signer: Signer) -> str:
    return f"{signer.public_key_id} ({signer.user_id})" if signer.user_id else signer.public_key_id


#: How many parsed references and scope matches one verifier keeps (emptied when full).
_CACHED_REFERENCES = 4096


class _References:
    """``parse_reference`` and the policy's scope for a reference, remembered by one verifier:
    the images of a repository, and the signatures on them, name the same few references
    over and over. Both are pure functions of their input (the policy cannot change under a
    verifier: a reload makes a new one); a text that does not parse is never remembered, so
    its :class:`ReferenceError` is raised every time."""

    __slots__ = ("_parsed", "_policy", "_scopes")

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._parsed: dict[str, DockerReference] = {}
        self._scopes: dict[DockerReference, ScopeMatch] = {}

    def parse(self, text: str) -> DockerReference:
        found = self._parsed.get(text)
        if found is None:
            found = parse_reference(text)
            if len(self._parsed) >= _CACHED_REFERENCES:
                self._parsed.clear()
            self._parsed[text] = found
        return found

    def scope(self, policy: Policy, reference: DockerReference) -> ScopeMatch:
        if policy is not self._policy:  # Verifier.policy reassigned: start afresh
            self._policy, self._scopes = policy, {}
        found = self._scopes.get(reference)
        if found is None:
            found = policy.requirements_for(reference)
            if len(self._scopes) >= _CACHED_REFERENCES:
                self._scopes.clear()
            self._scopes[reference] = found
        return found


class _Memo:
    """What one image's signatures share, worked out once per image: each identity rule's
    decision on the signed references (every signature usually names the same one), and
    how each signer is named. Lives for one :meth:`Verifier.verify_image` call."""

    __slots__ = ("_decisions", "_names", "_references", "reference")

    def __init__(self, reference: DockerReference, references: _References) -> None:
        self.reference = reference
        self._references = references
        self._decisions: dict[tuple[IdentityRule, DockerReference], bool] = {}
        self._names: dict[Signer, str] = {}

    def signed_reference(self, text: str) -> DockerReference:
        """``parse_reference(text)``; a :class:`ReferenceError` is raised every time."""
        return self._references.parse(text)

    def accepts(self, rule: IdentityRule, signed: DockerReference) -> bool:
        """``rule.matches(reference, signed)`` for this image's reference."""
        key = (rule, signed)
        try:
            found = self._decisions.get(key)
        except TypeError:  # a rule of the library API's that cannot be hashed
            return rule.matches(self.reference, signed)
        if found is None:
            found = self._decisions[key] = rule.matches(self.reference, signed)
        return found

    def who(self, signer: Signer) -> str:
        found = self._names.get(signer)
        if found is None:
            found = self._names[signer] = _who(signer)
        return found


class _Checked(NamedTuple):
    """A signature after crypto and claims: the inputs of every requirement's judgement."""

    verdict: SignatureVerdict
    signed_reference: DockerReference | None = None


class _Judgement(NamedTuple):
    """How one requirement judged the image, and how the image's message words a failure."""

    result: RequirementResult
    reason: Reason
    #: The image message names the requirement (a signedBy that saw signatures).
    named: bool = False
    #: Words between the requirement's name and its message in the image message.
    preface: str = ""


class Verifier:
    """Verifies Images against one policy with one backend.

    ``revision`` names the policy and its keys (a hash of both, from the policy loader):
    whatever caches a verdict keys it by :attr:`revision`, so it must change whenever either
    changes.
    """

    def __init__(
        self,
        policy: Policy,
        backend: SignatureBackend,
        *,
        revision: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.policy = policy
        self.backend = backend
        self._policy_revision = revision
        self._clock = clock
        self._references = _References(policy)

    @property
    def revision(self) -> str:
        """Changes whenever the policy, any of its keys or the backend changes."""
        return f"{self._policy_revision}:{self.backend.name}"

    def require_trusted(
        self, image: Image, *, expected_identity: str | None = None
    ) -> ImageVerdict:
        """The gate: the verdict when the image is trusted, else :class:`UntrustedImage`."""
        verdict = self.verify_image(image, expected_identity=expected_identity)
        if not verdict.trusted:
            raise UntrustedImage(verdict.message)
        return verdict

    def verify_image(self, image: Image, *, expected_identity: str | None = None) -> ImageVerdict:
        """Decide whether ``image`` satisfies the policy, explaining every signature."""
        now = self._clock()
        reference_text = expected_identity or image.docker_image_reference
        if not reference_text:
            raise InputError(
                "the Image has no dockerImageReference; give the expected identity "
                "(--expected-identity) to choose the policy scope"
            )
        try:
            reference = self._references.parse(reference_text)
        except ReferenceError as exc:
            where = "--expected-identity" if expected_identity else "dockerImageReference"
            raise InputError(
                f"{reference_text!r} is not a valid image reference: {exc}", path=where
            ) from exc
        match = self._references.scope(self.policy, reference)
        signatures = list(image.signatures)
        if len(signatures) > MAX_SIGNATURES_PER_IMAGE:
            raise InputError(
                f"the Image has {len(signatures)} signatures; at most "
                f"{MAX_SIGNATURES_PER_IMAGE} are verified",
                path="signatures",
            )
        memo = _Memo(reference, self._references)
        checked = [self._check(sig, image.name, memo, match, now) for sig in signatures]
        judgements = tuple(
            self._judge(req, checked, image.name, memo) for req in match.requirements
        )
        trusted = all(j.result.satisfied for j in judgements)
        if not trusted:
            unmet = next(
                (req, j)
                for req, j in zip(match.requirements, judgements, strict=True)
                if not j.result.satisfied
            )
            checked = self._unmet(unmet[1], unmet[0], checked, image.name, memo)
        reason, message = self._summary(judgements, match, reference)
        verdict = ImageVerdict(
            image=image.name,
            reference=str(reference),
            scope=match.scope,
            trusted=trusted,
            reason=reason,
            message=message,
            signatures=tuple(c.verdict for c in checked),
            requirements=tuple(j.result for j in judgements),
            verified_at=now,
        )
        if reference.digest is not None and reference.digest != image.name:
            return _of_another_digest(verdict, reference, match, image.name)
        return verdict

    # -- one signature ------------------------------------------------------------------

    def _check(
        self,
        signature: ImageSignature,
        image_digest: str,
        memo: _Memo,
        match: ScopeMatch,
        now: datetime,
    ) -> _Checked:
        def failed(reason: Reason, message: str, **extra: object) -> _Checked:
            return _Checked(
                SignatureVerdict(signature.name, False, False, reason, message, **extra)  # type: ignore[arg-type]
            )

        if signature.type not in SIGNATURE_TYPES:
            return failed(
                Reason.UNSUPPORTED_TYPE,
                f"signature type {signature.type!r} is not an atomic container signature",
            )
        if len(signature.content) > MAX_SIGNATURE_BLOB_BYTES:
            return failed(
                Reason.INVALID_SIGNATURE,
                f"signature blob is larger than {MAX_SIGNATURE_BLOB_BYTES} bytes",
            )
        # Crypto first; nothing in the payload is read before the signature verified.
        try:
            message = self.backend.verify(signature.content, now=now)
        except SignatureRejected as exc:
            return failed(exc.reason, str(exc), claimed_key_id=exc.key_id)
        signer = message.signer
        try:
            claims = parse_claims(message.payload)
            signed_reference = memo.signed_reference(claims.docker_reference)
        except (ClaimsError, ReferenceError) as exc:
            return failed(
                Reason.INVALID_PAYLOAD,
                f"signed by {memo.who(signer)}, but the signed payload is invalid: {exc}",
                signer=signer,
                signature_created=message.signature_created,
            )
        return self._judge_signature(
            signature.name, message, claims, signed_reference, image_digest, memo, match
        )

    def _judge_signature(
        self,
        name: str,
        message: VerifiedMessage,
        claims: SignedClaims,
        signed_reference: DockerReference,
        image_digest: str,
        memo: _Memo,
        match: ScopeMatch,
    ) -> _Checked:
        signer = message.signer
        reference = memo.reference
        signed_by = [r for r in match.requirements if isinstance(r, SignedBy)]
        trusting = [r for r in signed_by if signer.fingerprint in r.fingerprints]
        rules = trusting or signed_by
        identity_rules = [r.identity for r in rules] or [_REPO_DIGEST_OR_EXACT]
        digest_matches = claims.manifest_digest == image_digest
        identity_matches = any(memo.accepts(rule, signed_reference) for rule in identity_rules)
        accepted_by = next(
            (r for r in trusting if memo.accepts(r.identity, signed_reference)), None
        )
        rejects = any(isinstance(r, _REFUSING) for r in match.requirements)

        who = memo.who(signer)
        if rejects:
            reason = Reason.REJECTED
            text = f"the policy for {match.label} rejects every image; signed by {who}"
        elif not trusting:
            trusted_keys = frozenset().union(*(r.fingerprints for r in signed_by))
            reason = Reason.UNTRUSTED_KEY
            text = (
                f"signed by {who}, which the policy for {match.label} does not trust; "
                f"trusted: {_key_list(trusted_keys)}"
            )
        elif not digest_matches:
            reason = Reason.DIGEST_MISMATCH
            text = (
                f"signed by {who} for manifest {claims.manifest_digest}, "
                f"not for this image {image_digest}"
            )
        elif accepted_by is None:
            reason = Reason.IDENTITY_MISMATCH
            text = (
                f"signed by {who} for {claims.docker_reference}, which "
                f"{' or '.join(sorted({r.identity.describe() for r in trusting}))} does not "
                f"accept for {reference}"
            )
        else:
            reason = Reason.TRUSTED
            text = (
                f"signed by {who} for {claims.docker_reference}; accepted by "
                f"{accepted_by.describe()} in scope {match.label}"
            )
        verdict = SignatureVerdict(
            name=name,
            trusted=reason is Reason.TRUSTED,
            for_image=digest_matches and identity_matches,
            reason=reason,
            message=text,
            signer=signer,
            claims=claims,
            signature_created=message.signature_created,
            digest_matches=digest_matches,
            identity_matches=identity_matches,
            requirement=accepted_by.describe() if accepted_by else None,
        )
        return _Checked(verdict, signed_reference)

    # -- the image ----------------------------------------------------------------------

    @staticmethod
    def _against(
        requirement: SignedBy,
        checked: _Checked,
        image_digest: str,
        memo: _Memo,
    ) -> tuple[Reason, str]:
        """How one signature fares against one ``signedBy``: ``Trusted`` if it passes it.

        Each requirement judges every signature on its own (containers/image
        ``policy_eval_signedby.go``): a key that another requirement of the scope trusts is,
        for this one, an untrusted key.
        """
        verdict, signed_reference = checked.verdict, checked.signed_reference
        signer, claims = verdict.signer, verdict.claims
        if signer is None or claims is None or signed_reference is None:
            return verdict.reason, verdict.message  # never verified, or no valid claims
        if signer.fingerprint not in requirement.fingerprints:
            return (
                Reason.UNTRUSTED_KEY,
                f"signed by {memo.who(signer)}, a key this requirement does not trust",
            )
        if not verdict.digest_matches:
            return (
                Reason.DIGEST_MISMATCH,
                f"signed by {memo.who(signer)} for manifest {claims.manifest_digest}, "
                f"not for this image {image_digest}",
            )
        if not memo.accepts(requirement.identity, signed_reference):
            return (
                Reason.IDENTITY_MISMATCH,
                f"signed by {memo.who(signer)} for {claims.docker_reference}, which "
                f"{requirement.identity.describe()} does not accept for {memo.reference}",
            )
        return Reason.TRUSTED, f"signed by {memo.who(signer)} for {claims.docker_reference}"

    def _judge(
        self,
        requirement: Requirement,
        checked: list[_Checked],
        image_digest: str,
        memo: _Memo,
    ) -> _Judgement:
        description = requirement.describe()
        if isinstance(requirement, InsecureAcceptAnything):
            return _Judgement(
                RequirementResult(description, True, "accepts any image"), Reason.ACCEPTED
            )
        if isinstance(requirement, Reject):
            return _Judgement(
                RequirementResult(description, False, "rejects every image"), Reason.REJECTED
            )
        if isinstance(requirement, Unsupported):
            return _Judgement(
                RequirementResult(description, False, requirement.reason), Reason.REJECTED
            )
        if not checked:
            return _Judgement(
                RequirementResult(
                    description, False, "A signature was required, but no signature exists"
                ),
                Reason.NOT_SIGNED,
            )
        outcomes = [self._against(requirement, c, image_digest, memo) for c in checked]
        signers = {
            c.verdict.signer.fingerprint
            for c, (reason, _) in zip(checked, outcomes, strict=True)
            if reason is Reason.TRUSTED and c.verdict.signer is not None
        }
        if len(signers) >= requirement.min_signers:
            keys = _key_list(frozenset(signers))
            return _Judgement(
                RequirementResult(description, True, f"signed by {keys}"), Reason.TRUSTED
            )
        if signers:
            return _Judgement(
                RequirementResult(
                    description,
                    False,
                    f"{requirement.min_signers} distinct trusted signers are required, found "
                    f"{len(signers)}: {_key_list(frozenset(signers))}",
                ),
                Reason.NOT_ENOUGH_SIGNERS,
                named=True,
            )
        # No signature passes: the requirement's reason is that of the signature that got
        # furthest *against this requirement*, never a reason another requirement gave.
        reasons = "; ".join(
            f"{c.verdict.name}: {message}"
            for c, (_, message) in zip(checked, outcomes, strict=True)
        )
        best = max((reason for reason, _ in outcomes), key=lambda r: _PROGRESS.get(r, 0))
        which = "this key" if len(requirement.fingerprints) == 1 else "any of these keys"
        return _Judgement(
            RequirementResult(
                description, False, f"None of the signatures were accepted, reasons: {reasons}"
            ),
            best,
            named=True,
            preface=f"no accepted signature by {which}; ",
        )

    def _unmet(
        self,
        judgement: _Judgement,
        requirement: Requirement,
        checked: list[_Checked],
        image_digest: str,
        memo: _Memo,
    ) -> list[_Checked]:
        """Signatures as the image's verdict reports them once ``requirement`` is unmet.

        A signature that passed its own ``signedBy`` is not trusted when the image is not:
        the ``Trusted`` condition written for it must not tell a reader that the image is
        (OpenShift readers take Trusted+ForImage on any signature as "signed and verified").
        It takes its own reason against the unmet requirement.
        """
        out = []
        for c in checked:
            if not c.verdict.trusted:
                out.append(c)
                continue
            # Only a signedBy can be unmet while a signature is trusted: a reject or an
            # unsupported requirement makes every signature Rejected.
            reason, message = judgement.reason, judgement.result.message
            if isinstance(requirement, SignedBy):
                against = self._against(requirement, c, image_digest, memo)
                if against[0] is not Reason.TRUSTED:  # else: it counts, but too few others do
                    reason, message = against
            verdict = replace(
                c.verdict,
                trusted=False,
                reason=reason,
                message=(
                    f"{c.verdict.message}; but the image also needs "
                    f"{judgement.result.requirement}: {message}"
                ),
            )
            out.append(_Checked(verdict, c.signed_reference))
        return out

    @staticmethod
    def _summary(
        judgements: tuple[_Judgement, ...],
        match: ScopeMatch,
        reference: DockerReference,
    ) -> tuple[Reason, str]:
        failing = [j for j in judgements if not j.result.satisfied]
        if failing:
            first = failing[0]
            # A signedBy that saw signatures names itself: with several in one scope, which
            # one is unmet is the whole story.
            named = f"{first.result.requirement}: {first.preface}" if first.named else ""
            return (
                first.reason,
                f"{reference} is not trusted (scope {match.label}): {named}{first.result.message}",
            )
        if any(j.reason is Reason.TRUSTED for j in judgements):
            details = "; ".join(j.result.message for j in judgements if j.reason is Reason.TRUSTED)
            return Reason.TRUSTED, f"{reference} is trusted (scope {match.label}): {details}"
        return (
            Reason.ACCEPTED,
            f"{reference} is accepted without signatures (scope {match.label}: "
            "insecureAcceptAnything)",
        )


def _of_another_digest(
    verdict: ImageVerdict, reference: DockerReference, match: ScopeMatch, image_digest: str
) -> ImageVerdict:
    """The verdict when the reference (or expected identity) pins a digest the Image does not
    carry: it names another image, so whatever this one's signatures say, it is not trusted
    (containers/image checks a signature against the manifest the reference names)."""
    why = f"{reference} names digest {reference.digest}, not this image {image_digest}"
    signatures = tuple(
        replace(
            signature,
            trusted=False,
            for_image=False,
            reason=Reason.DIGEST_MISMATCH,
            message=f"{signature.message}; but {why}",
        )
        if signature.trusted
        else signature
        for signature in verdict.signatures
    )
    return replace(
        verdict,
        trusted=False,
        reason=Reason.DIGEST_MISMATCH,
        message=f"{reference} is not trusted (scope {match.label}): {why}",
        signatures=signatures,
    )
