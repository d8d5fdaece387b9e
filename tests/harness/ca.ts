import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

// A CA made fresh for each run: federation runs over real, verified TLS without trusting anything
// that exists outside the run's temp dir.

const execFileAsync = promisify(execFile);

export interface Certificate {
  certPath: string;
  keyPath: string;
}

export interface Certificates {
  caCertPath: string;
  certificateFor(hostname: string): Certificate;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync("openssl", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0] ?? ""} failed: ${stderr.trim() || String(error)}`);
  }
}

// EC keys: generated in milliseconds, where RSA keys cost noticeable time on a busy machine.
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

// A certificate's names: the DNS name, and IP addresses for clients that connect by address.
export interface CertificateSubject {
  hostname: string;
  ipAddresses?: readonly string[];
}

export async function createCertificates(dir: string, subjects: readonly CertificateSubject[]): Promise<Certificates> {
  await mkdir(dir, { recursive: true });
  const caCertPath = join(dir, "ca.pem");
  const caKeyPath = join(dir, "ca.key");
  await openssl([
    "req", "-x509", ...NEW_KEY, "-keyout", caKeyPath, "-out", caCertPath, "-days", "7",
    "-subj", "/CN=Visio test bed CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);

  const certificates = new Map<string, Certificate>();
  await Promise.all(
    subjects.map(async (subject, index) => {
      // Distinct serials without a shared serial file that parallel signings would race on.
      certificates.set(subject.hostname, await signCertificate(dir, caCertPath, caKeyPath, subject, String(1000 + index)));
    }),
  );

  return {
    caCertPath,
    certificateFor(hostname: string): Certificate {
      const certificate = certificates.get(hostname);
      if (certificate === undefined) throw new Error(`no test certificate for ${hostname}`);
      return certificate;
    },
  };
}

/**
 * One more certificate from a CA that createCertificates made (its key sits beside it as ca.key):
 * a server started later in the run that others verify with the run's CA.
 */
export async function issueCertificate(caCertPath: string, dir: string, subject: CertificateSubject): Promise<Certificate> {
  await mkdir(dir, { recursive: true });
  return signCertificate(dir, caCertPath, join(dirname(caCertPath), "ca.key"), subject, `0x${randomBytes(8).toString("hex")}`);
}

async function signCertificate(dir: string, caCertPath: string, caKeyPath: string, subject: CertificateSubject, serial: string): Promise<Certificate> {
  const { hostname, ipAddresses = [] } = subject;
  const certPath = join(dir, `${hostname}.pem`);
  const keyPath = join(dir, `${hostname}.key`);
  const csrPath = join(dir, `${hostname}.csr`);
  const extensionsPath = join(dir, `${hostname}.ext`);
  // Verifiers match the subjectAltName and ignore the CN.
  await writeFile(
    extensionsPath,
    [
      `subjectAltName=${[`DNS:${hostname}`, ...ipAddresses.map((ip) => `IP:${ip}`)].join(",")}`,
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth,clientAuth",
      "",
    ].join("\n"),
  );
  await openssl(["req", ...NEW_KEY, "-keyout", keyPath, "-out", csrPath, "-subj", `/CN=${hostname}`]);
  await openssl([
    "x509", "-req", "-in", csrPath, "-CA", caCertPath, "-CAkey", caKeyPath,
    "-set_serial", serial, "-days", "7", "-extfile", extensionsPath, "-out", certPath,
  ]);
  return { certPath, keyPath };
}
