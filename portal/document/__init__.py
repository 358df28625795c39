"""The RID as a document: each version published as PDF and DOCX (the baseline's PDF stored byte for byte), and
any two versions compared section by section."""
